namespace KubeStack.Contracts.Formats;

/// <summary>
/// Entry point for the seed's compound string formats (the <c>--disk</c> list, the ordered <c>network</c> key list,
/// <c>graphics</c>, <c>vcpus</c>, ...). Each format has a pure parser in this folder that both the validation
/// library (to report errors) and the domain builder (to build XML) use.
/// </summary>
public static class SeedFormats
{
    /// <summary>Checks <paramref name="value"/> against the named format; returns one full sentence per problem.</summary>
    public static IReadOnlyList<string> Check(string format, string value)
    {
        ArgumentNullException.ThrowIfNull(format);
        ArgumentNullException.ThrowIfNull(value);
        // Filled in by the parsers of this folder.
        return [];
    }
}
