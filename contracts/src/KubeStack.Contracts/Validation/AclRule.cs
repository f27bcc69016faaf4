using System.Globalization;

namespace KubeStack.Contracts.Validation;

/// <summary>
/// The ACL match of addACL/modifyACL/deprecatedACL (decision acl-rule-syntax): the subset of OVN's match language
/// the seed documents. Protocol predicates (<c>tcp</c>, <c>ip4</c>, <c>icmp</c>, ...), comparisons
/// <c>field == value</c> / <c>!=</c> / <c>&lt;</c> / <c>&lt;=</c> / <c>&gt;</c> / <c>&gt;=</c>, ranges
/// <c>1024 &lt;= tcp.dst &lt;= 49151</c>, values that are numbers, IPv4 addresses or subnets, MAC addresses,
/// address sets <c>$dmz</c>, value sets <c>{ a, b }</c> and quoted port names, combined with <c>&amp;&amp;</c>,
/// <c>||</c>, <c>!</c> and parentheses. As the catalog requires, every comparison and logical operator has exactly
/// one space on each side: <c>ip4.src == $dmz &amp;&amp; tcp.dst == 3306</c>.
/// </summary>
public static class AclRule
{
    private enum ValueKind { Ipv4, Ipv6, Port, Mac, Integer, PortName }

    private static readonly HashSet<string> Predicates = new(StringComparer.Ordinal)
    {
        "eth.bcast", "eth.mcast", "vlan.present", "ip", "ip4", "ip6", "icmp", "icmp4", "icmp6", "tcp", "udp", "sctp",
        "arp", "rarp", "nd", "nd_ns", "nd_na", "nd_rs", "nd_ra", "ip4.mcast", "ip6.mcast", "ip.is_frag",
        "ip.first_frag", "ip.later_frag", "igmp", "mldv1", "mldv2",
    };

    private static readonly Dictionary<string, (ValueKind Kind, long Max)> Fields = new(StringComparer.Ordinal)
    {
        ["ip4.src"] = (ValueKind.Ipv4, 0),
        ["ip4.dst"] = (ValueKind.Ipv4, 0),
        ["arp.spa"] = (ValueKind.Ipv4, 0),
        ["arp.tpa"] = (ValueKind.Ipv4, 0),
        ["ip6.src"] = (ValueKind.Ipv6, 0),
        ["ip6.dst"] = (ValueKind.Ipv6, 0),
        ["tcp.src"] = (ValueKind.Port, 65535),
        ["tcp.dst"] = (ValueKind.Port, 65535),
        ["udp.src"] = (ValueKind.Port, 65535),
        ["udp.dst"] = (ValueKind.Port, 65535),
        ["sctp.src"] = (ValueKind.Port, 65535),
        ["sctp.dst"] = (ValueKind.Port, 65535),
        ["eth.src"] = (ValueKind.Mac, 0),
        ["eth.dst"] = (ValueKind.Mac, 0),
        ["arp.sha"] = (ValueKind.Mac, 0),
        ["arp.tha"] = (ValueKind.Mac, 0),
        ["eth.type"] = (ValueKind.Integer, 65535),
        ["vlan.vid"] = (ValueKind.Integer, 4095),
        ["vlan.pcp"] = (ValueKind.Integer, 7),
        ["ip.proto"] = (ValueKind.Integer, 255),
        ["ip.dscp"] = (ValueKind.Integer, 63),
        ["ip.ecn"] = (ValueKind.Integer, 3),
        ["ip.ttl"] = (ValueKind.Integer, 255),
        ["icmp4.type"] = (ValueKind.Integer, 255),
        ["icmp4.code"] = (ValueKind.Integer, 255),
        ["icmp6.type"] = (ValueKind.Integer, 255),
        ["icmp6.code"] = (ValueKind.Integer, 255),
        ["arp.op"] = (ValueKind.Integer, 65535),
        ["tcp.flags"] = (ValueKind.Integer, 4095),
        ["inport"] = (ValueKind.PortName, 0),
        ["outport"] = (ValueKind.PortName, 0),
    };

    private static readonly string[] Operators = ["==", "!=", "<=", ">=", "&&", "||", "<", ">"];

    public static bool IsValid(string rule) => Check(rule).Count == 0;

    /// <summary>Problems of an ACL match, as phrases ("must ..."); at most one.</summary>
    public static IReadOnlyList<string> Check(string rule)
    {
        try
        {
            var tokens = Tokenize(rule);
            var parser = new Parser(tokens);
            parser.ParseExpression();
            if (!parser.AtEnd)
            {
                throw new AclSyntaxException($"has an unexpected '{parser.Peek.Text}' at position {parser.Peek.Position + 1}");
            }

            return [];
        }
        catch (AclSyntaxException e)
        {
            return [$"must be an OVN match such as 'ip4.src == $dmz && tcp.dst == 3306', but it {e.Message}"];
        }
    }

    private sealed class AclSyntaxException(string message) : Exception(message);

    private readonly record struct Token(string Text, int Position, bool IsOperator);

    private static List<Token> Tokenize(string s)
    {
        if (s.Length == 0)
        {
            throw new AclSyntaxException("is empty");
        }

        if (s[0] == ' ' || s[^1] == ' ')
        {
            throw new AclSyntaxException("starts or ends with a space");
        }

        var tokens = new List<Token>();
        var i = 0;
        while (i < s.Length)
        {
            var c = s[i];
            if (c == ' ')
            {
                i++;
                continue;
            }

            var op = Operators.FirstOrDefault(o => string.CompareOrdinal(s, i, o, 0, o.Length) == 0);
            if (op is not null)
            {
                var spacedBefore = i >= 1 && s[i - 1] == ' ' && (i < 2 || s[i - 2] != ' ');
                var after = i + op.Length;
                var spacedAfter = after < s.Length && s[after] == ' ' && (after + 1 >= s.Length || s[after + 1] != ' ');
                if (!spacedBefore || !spacedAfter)
                {
                    throw new AclSyntaxException($"needs exactly one space before and after '{op}' at position {i + 1}");
                }

                tokens.Add(new Token(op, i, true));
                i = after;
                continue;
            }

            if (c is '(' or ')' or '{' or '}' or ',' or '!')
            {
                tokens.Add(new Token(c.ToString(), i, false));
                i++;
                continue;
            }

            if (c == '"')
            {
                var end = s.IndexOf('"', i + 1);
                if (end < 0)
                {
                    throw new AclSyntaxException($"has an unterminated string at position {i + 1}");
                }

                tokens.Add(new Token(s[i..(end + 1)], i, false));
                i = end + 1;
                continue;
            }

            var start = i;
            while (i < s.Length && (char.IsAsciiLetterOrDigit(s[i]) || s[i] is '.' or '_' or '$' or '/' or ':' or '-'))
            {
                i++;
            }

            if (i == start)
            {
                throw new AclSyntaxException($"contains the character '{c}' at position {i + 1}, which is not allowed");
            }

            tokens.Add(new Token(s[start..i], start, false));
        }

        return tokens;
    }

    private sealed class Parser(List<Token> tokens)
    {
        private int position;

        public bool AtEnd => position >= tokens.Count;

        public Token Peek => AtEnd ? new Token("end of the rule", tokens.Count == 0 ? 0 : tokens[^1].Position, false) : tokens[position];

        private Token Next()
        {
            if (AtEnd)
            {
                throw new AclSyntaxException("ends too early");
            }

            return tokens[position++];
        }

        private bool Accept(string text)
        {
            if (!AtEnd && tokens[position].Text == text)
            {
                position++;
                return true;
            }

            return false;
        }

        public void ParseExpression()
        {
            ParseAnd();
            while (Accept("||"))
            {
                ParseAnd();
            }
        }

        private void ParseAnd()
        {
            ParseUnary();
            while (Accept("&&"))
            {
                ParseUnary();
            }
        }

        private void ParseUnary()
        {
            if (Accept("!"))
            {
                ParseUnary();
                return;
            }

            if (Accept("("))
            {
                ParseExpression();
                if (!Accept(")"))
                {
                    throw new AclSyntaxException($"misses a ')' before {Describe(Peek)}");
                }

                return;
            }

            var first = Next();
            if (first.IsOperator)
            {
                throw new AclSyntaxException($"has '{first.Text}' at position {first.Position + 1} where a field or value was expected");
            }

            if (Fields.TryGetValue(first.Text, out var field))
            {
                var op = Next();
                if (!op.IsOperator || op.Text is "&&" or "||")
                {
                    throw new AclSyntaxException($"must compare the field '{first.Text}' with a value, e.g. '{first.Text} == ...'");
                }

                if (field.Kind is ValueKind.Ipv4 or ValueKind.Ipv6 or ValueKind.Mac or ValueKind.PortName && op.Text is not ("==" or "!="))
                {
                    throw new AclSyntaxException($"compares '{first.Text}' with '{op.Text}', but only == and != apply to it");
                }

                ParseValueOrSet(first.Text, field, allowSet: op.Text is "==" or "!=");
                return;
            }

            if (Predicates.Contains(first.Text))
            {
                return;
            }

            // A range: 1024 <= tcp.dst <= 49151.
            if (!AtEnd && tokens[position].Text is "<" or "<=")
            {
                Next();
                var fieldToken = Next();
                if (!Fields.TryGetValue(fieldToken.Text, out var rangeField) || rangeField.Kind is not (ValueKind.Port or ValueKind.Integer))
                {
                    throw new AclSyntaxException($"has the range bound '{first.Text}' before '{fieldToken.Text}', which is not a numeric field");
                }

                CheckValue(fieldToken.Text, rangeField, first);
                var second = Next();
                if (second.Text is not ("<" or "<="))
                {
                    throw new AclSyntaxException($"must close the range on '{fieldToken.Text}' with '<' or '<=' and an upper bound");
                }

                CheckValue(fieldToken.Text, rangeField, Next());
                return;
            }

            throw new AclSyntaxException($"uses '{first.Text}' at position {first.Position + 1}, which is not a known OVN field or protocol");
        }

        private void ParseValueOrSet(string fieldName, (ValueKind Kind, long Max) field, bool allowSet)
        {
            if (allowSet && Accept("{"))
            {
                do
                {
                    CheckValue(fieldName, field, Next());
                }
                while (Accept(","));

                if (!Accept("}"))
                {
                    throw new AclSyntaxException($"misses a '}}' closing the value set of '{fieldName}'");
                }

                return;
            }

            CheckValue(fieldName, field, Next());
        }

        private static void CheckValue(string fieldName, (ValueKind Kind, long Max) field, Token value)
        {
            var v = value.Text;
            var ok = field.Kind switch
            {
                ValueKind.Ipv4 => IsAddressSet(v) || NetworkFormats.IsIpv4(v) || NetworkFormats.TryParseCidr(v, out _, out _),
                ValueKind.Ipv6 => IsAddressSet(v) || (v.Contains(':', StringComparison.Ordinal) && v.All(c => char.IsAsciiHexDigit(c) || c is ':' or '/' or '.')),
                ValueKind.Mac => IsAddressSet(v) || NetworkFormats.TryParseMac(v, out _),
                ValueKind.PortName => v.Length >= 2 && v[0] == '"' && v[^1] == '"',
                _ => TryParseNumber(v, out var n) && n <= field.Max,
            };
            if (!ok)
            {
                var expected = field.Kind switch
                {
                    ValueKind.Ipv4 => "an IPv4 address, a subnet a.b.c.d/p or an address set $name",
                    ValueKind.Ipv6 => "an IPv6 address or an address set $name",
                    ValueKind.Mac => "a MAC address or an address set $name",
                    ValueKind.PortName => "a quoted port name",
                    _ => $"a number from 0 to {field.Max}",
                };
                throw new AclSyntaxException($"compares '{fieldName}' with '{v}', but it must be {expected}");
            }
        }

        private static bool IsAddressSet(string v) =>
            v.Length > 1 && v[0] == '$' && v[1..].All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '-');

        private static bool TryParseNumber(string v, out long n)
        {
            if (v.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
            {
                return long.TryParse(v.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out n);
            }

            n = 0;
            return v.Length is > 0 and <= 18 && v.All(char.IsAsciiDigit) && long.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out n);
        }

        private static string Describe(Token t) => t.Text == "end of the rule" ? "the end of the rule" : $"'{t.Text}' at position {t.Position + 1}";
    }
}
