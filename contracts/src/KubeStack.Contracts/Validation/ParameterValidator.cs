using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using KubeStack.Contracts.Catalog;

namespace KubeStack.Contracts.Validation;

/// <summary>
/// Checks one parameter value against its catalog entry: JSON type, then the rule's enum, minLength, maxLength,
/// pattern, range and format, stopping at the first broken one (one clear error per parameter).
/// </summary>
public static class ParameterValidator
{
    private static readonly ConcurrentDictionary<string, Regex> Patterns = new(StringComparer.Ordinal);

    /// <summary>Validates <paramref name="value"/> (null = absent) for <paramref name="parameter"/>.</summary>
    public static ValidationError? Validate(ValidationContext context, ParameterSpec parameter, JsonNode? value)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(parameter);
        if (value is null)
        {
            return null;
        }

        return parameter.Type == ParameterType.Boolean
            ? ValidateBoolean(context, parameter, value)
            : ValidateString(context, parameter, value);
    }

    /// <summary>Validates a raw string value against a string parameter (used by tests and docs).</summary>
    public static ValidationError? ValidateString(ValidationContext context, ParameterSpec parameter, string value) =>
        ValidateString(context, parameter, JsonValue.Create(value));

    private static ValidationError? ValidateBoolean(ValidationContext context, ParameterSpec parameter, JsonNode value)
    {
        if (value.GetValueKind() is not (JsonValueKind.True or JsonValueKind.False))
        {
            return context.ParameterJson(parameter, RuleIds.Type, "must be a JSON boolean, true or false without quotes", value);
        }

        if (parameter.Rule?.Format == FormatRegistry.MustBeTrue && !value.GetValue<bool>())
        {
            return context.Parameter(parameter, FormatRegistry.MustBeTrue, "must be true", "false");
        }

        return null;
    }

    private static ValidationError? ValidateString(ValidationContext context, ParameterSpec parameter, JsonNode value)
    {
        if (value.GetValueKind() != JsonValueKind.String)
        {
            return context.ParameterJson(parameter, RuleIds.Type,
                "must be a JSON string (numbers and flags are written in quotes, e.g. \"10737418240\")", value);
        }

        var text = value.GetValue<string>();
        var rule = parameter.Rule;
        if (rule is null)
        {
            return null;
        }

        if (rule.Enum is { Count: > 0 } allowed && !allowed.Contains(text, StringComparer.Ordinal))
        {
            return context.Parameter(parameter, RuleIds.Enum, $"must be one of {string.Join(", ", allowed)}", text);
        }

        var length = text.EnumerateRunes().Count();
        if (rule.MinLength is { } min && length < min)
        {
            return context.Parameter(parameter, RuleIds.MinLength,
                $"must be at least {min} characters long, but it has {length}", text);
        }

        if (rule.MaxLength is { } max && length > max)
        {
            return context.Parameter(parameter, RuleIds.MaxLength,
                $"must be at most {max} characters long, but it has {length}", text);
        }

        if (rule.Pattern is { } pattern && !FullMatch(pattern, text))
        {
            return context.Parameter(parameter, RuleIds.Pattern, $"{DescribePatternFailure(rule, text)} (pattern {pattern})", text);
        }

        if (rule.Range is [var low, var high])
        {
            if (!ParameterValues.TryParseInteger(text, out var number) || number < low || number > high)
            {
                return context.Parameter(parameter, RuleIds.Range,
                    $"must be a whole number from {low.ToString(CultureInfo.InvariantCulture)} to {high.ToString(CultureInfo.InvariantCulture)}", text);
            }
        }

        if (rule.Format is { } format)
        {
            var problems = FormatRegistry.Check(format, text);
            if (problems.Count > 0)
            {
                var problem = problems[0].StartsWith("must ", StringComparison.Ordinal)
                    ? problems[0]
                    : $"does not follow the {format} syntax: {string.Join(" ", problems).TrimEnd('.')}";
                if (parameter.Secret)
                {
                    problem = Redact(problem, text);
                }

                return context.Parameter(parameter, format, problem, text);
            }
        }

        return null;
    }

    /// <summary>Says in words what a value that breaks the rule's pattern got wrong.</summary>
    private static string DescribePatternFailure(ParameterRule rule, string text)
    {
        if (rule.Range is not null)
        {
            return "must be a whole number written with the digits 0-9, optionally grouped in threes by ',' (10,737,418,240)";
        }

        if (rule.Format is { } format && !FormatRegistry.IsSeedFormat(format) && FormatRegistry.IsKnown(format) && format != FormatRegistry.MustBeTrue)
        {
            var problems = FormatRegistry.Check(format, text);
            if (problems.Count > 0 && problems[0].StartsWith("m", StringComparison.Ordinal))
            {
                return problems[0];
            }
        }

        return "has a character or form the parameter does not allow";
    }

    /// <summary>True when the anchored <paramref name="pattern"/> matches the whole <paramref name="value"/>.</summary>
    public static bool FullMatch(string pattern, string value)
    {
        var regex = Patterns.GetOrAdd(pattern, p => new Regex(p, RegexOptions.CultureInvariant, TimeSpan.FromMilliseconds(250)));
        try
        {
            var match = regex.Match(value);
            return match.Success && match.Index == 0 && match.Length == value.Length;
        }
        catch (RegexMatchTimeoutException)
        {
            return false; // a value that takes this long to match is not one we want
        }
    }

    /// <summary>
    /// Removes a secret value from a message: the whole value, and the value of every key=value part whose key
    /// names a password, key, token or secret, and any user:password@ of a URL.
    /// </summary>
    public static string Redact(string message, string secretValue)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentNullException.ThrowIfNull(secretValue);
        var secrets = new List<string> { secretValue };
        foreach (var part in secretValue.Split(',', ' ', ';', '\n'))
        {
            var eq = part.IndexOf('=', StringComparison.Ordinal);
            if (eq > 0 && Regex.IsMatch(part[..eq], "pass|key|token|secret", RegexOptions.IgnoreCase, TimeSpan.FromMilliseconds(100)))
            {
                secrets.Add(part[(eq + 1)..]);
            }
        }

        var at = secretValue.IndexOf('@', StringComparison.Ordinal);
        var scheme = secretValue.IndexOf("://", StringComparison.Ordinal);
        if (scheme >= 0 && at > scheme)
        {
            secrets.Add(secretValue[(scheme + 3)..at]);
        }

        foreach (var s in secrets.Where(s => s.Length > 0).OrderByDescending(s => s.Length))
        {
            message = message.Replace(s, "***", StringComparison.Ordinal);
        }

        return message;
    }
}
