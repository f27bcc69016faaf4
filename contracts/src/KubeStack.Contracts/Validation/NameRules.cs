namespace KubeStack.Contracts.Validation;

/// <summary>
/// Names of KubeStack objects (decision names): global rule (1) of the catalog, lowercase letters, digits, '-' and '.',
/// 4 to 100 characters, and, because every such name is also a Kubernetes object name, a DNS-1123 subdomain
/// (starts and ends with a letter or digit, no empty or dash-edged label between dots).
/// </summary>
public static class NameRules
{
    public const int MinLength = 4;
    public const int MaxLength = 100;
    public const int MaxNodeNameLength = 253;

    public static bool IsValidName(string value) => CheckName(value).Count == 0;

    /// <summary>Problems of a name, as phrases ("must ...").</summary>
    public static IReadOnlyList<string> CheckName(string value)
    {
        if (value.Length is < MinLength or > MaxLength)
        {
            return [$"must be {MinLength} to {MaxLength} characters long, not {value.Length}"];
        }

        return CheckSubdomain(value);
    }

    /// <summary>Kubernetes node names: DNS-1123 subdomains of at most 253 characters.</summary>
    public static IReadOnlyList<string> CheckNodeName(string value)
    {
        if (value.Length is 0 or > MaxNodeNameLength)
        {
            return [$"must be 1 to {MaxNodeNameLength} characters long, not {value.Length}"];
        }

        return CheckSubdomain(value);
    }

    private static IReadOnlyList<string> CheckSubdomain(string value)
    {
        if (!value.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c is '-' or '.'))
        {
            return ["may contain only lowercase letters, digits, '-' and '.'"];
        }

        foreach (var label in value.Split('.'))
        {
            if (label.Length == 0)
            {
                return ["must not start or end with '.' nor contain '..'"];
            }

            if (label[0] == '-' || label[^1] == '-')
            {
                return ["must start and end with a letter or digit, also around each '.'"];
            }
        }

        return [];
    }
}
