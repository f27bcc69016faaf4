using System.Xml.Linq;

namespace KubeStack.Contracts.Tests.Xml;

/// <summary>
/// Reads libvirt's RELAX NG schemas and lists the element paths (from the root) whose element may occur more than
/// once under its parent: inside <c>zeroOrMore</c>/<c>oneOrMore</c>, or reachable twice in one content model (choices
/// count once). Paths use XML names; elements of libvirt's hypervisor namespaces get their usual prefix
/// (<c>qemu:</c>, <c>lxc:</c>, <c>bhyve:</c>, <c>xen:</c>, <c>vmware:</c>). Recursion stops when an element definition repeats on
/// the path (the table matches recursive chains by collapsing repeated segments).
/// </summary>
internal sealed class RngRepeatableElements
{
    private static readonly XNamespace Rng = "http://relaxng.org/ns/structure/1.0";

    private static readonly Dictionary<string, string> Prefixes = new(StringComparer.Ordinal)
    {
        ["http://libvirt.org/schemas/domain/qemu/1.0"] = "qemu",
        ["http://libvirt.org/schemas/domain/lxc/1.0"] = "lxc",
        ["http://libvirt.org/schemas/domain/bhyve/1.0"] = "bhyve",
        ["http://libvirt.org/schemas/domain/xen/1.0"] = "xen",
        ["http://libvirt.org/schemas/domain/vmware/1.0"] = "vmware",
    };

    private const int Many = 2;

    private readonly string _directory;
    private readonly Dictionary<string, List<XElement>> _defines = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _combine = new(StringComparer.Ordinal);
    private readonly HashSet<string> _loaded = new(StringComparer.Ordinal);

    private RngRepeatableElements(string directory) => _directory = directory;

    /// <summary>The repeatable paths of the document whose schema is <paramref name="file"/> and root <paramref name="root"/>.</summary>
    public static SortedSet<string> Analyze(string directory, string file, string root, int maxDepth = 16)
    {
        var analyzer = new RngRepeatableElements(directory);
        var start = analyzer.Load(file) ?? throw new InvalidOperationException($"{file} has no <start>.");
        var top = new Dictionary<string, (int Count, List<XElement> Nodes)>(StringComparer.Ordinal);
        analyzer.Group(start, top, 1, []);
        var result = new SortedSet<string>(StringComparer.Ordinal);
        analyzer.Walk(root, top[root].Nodes, 0, maxDepth, [], result);
        return result;
    }

    private XElement? Load(string file)
    {
        if (!_loaded.Add(file))
        {
            return null;
        }
        var grammar = XDocument.Load(Path.Combine(_directory, file)).Root!;
        foreach (var include in grammar.Elements(Rng + "include"))
        {
            Load((string)include.Attribute("href")!);
        }
        foreach (var define in grammar.Elements(Rng + "define"))
        {
            var name = (string)define.Attribute("name")!;
            if (!_defines.TryGetValue(name, out var parts))
            {
                _defines[name] = parts = [];
            }
            parts.Add(define);
            if ((string?)define.Attribute("combine") is { } combine)
            {
                _combine[name] = combine;
            }
        }
        return grammar.Element(Rng + "start");
    }

    /// <summary>Identity of a set of element definitions (recursion stops when the same set repeats on a path).</summary>
    private static string Key(List<XElement> nodes) =>
        string.Join(",", nodes.Select(System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode).Distinct().Order());

    private void Walk(string path, List<XElement> elements, int depth, int maxDepth, HashSet<string> seen, SortedSet<string> result)
    {
        if (depth > maxDepth)
        {
            return;
        }
        var children = new Dictionary<string, (int Count, List<XElement> Nodes)>(StringComparer.Ordinal);
        foreach (var element in elements)
        {
            var own = new Dictionary<string, (int Count, List<XElement> Nodes)>(StringComparer.Ordinal);
            foreach (var child in element.Elements().Where(e => e.Name != Rng + "name" && !IsNameClassChoice(e)))
            {
                Content(child, own, 1, []);
            }
            foreach (var (name, (count, nodes)) in own)
            {
                var existing = children.GetValueOrDefault(name, (0, []));
                children[name] = (Math.Max(existing.Count, count), [.. existing.Nodes, .. nodes]);
            }
        }
        foreach (var (name, (count, nodes)) in children)
        {
            var childPath = path + "/" + name;
            if (count >= Many)
            {
                result.Add(childPath);
            }
            var key = Key(nodes);
            if (seen.Contains(key))
            {
                continue;
            }
            Walk(childPath, nodes, depth + 1, maxDepth, [.. seen, key], result);
        }
    }

    private static bool IsNameClassChoice(XElement e) =>
        e.Name == Rng + "choice" && e.Elements().All(c => c.Name == Rng + "name");

    private void Content(XElement node, Dictionary<string, (int Count, List<XElement> Nodes)> acc, int multiplicity, HashSet<string> visiting)
    {
        switch (node.Name.LocalName)
        {
            case "element":
                foreach (var name in Names(node))
                {
                    var existing = acc.GetValueOrDefault(name, (0, []));
                    acc[name] = (Math.Min(Many, existing.Count + multiplicity), [.. existing.Nodes, node]);
                }
                break;
            case "ref":
                var reference = (string)node.Attribute("name")!;
                if (visiting.Contains(reference))
                {
                    break;
                }
                HashSet<string> inner = [.. visiting, reference];
                var parts = _defines[reference];
                if (_combine.GetValueOrDefault(reference) == "choice" && parts.Count > 1)
                {
                    Choice(parts, acc, multiplicity, inner);
                }
                else
                {
                    foreach (var part in parts)
                    {
                        Group(part, acc, multiplicity, inner);
                    }
                }
                break;
            case "zeroOrMore" or "oneOrMore":
                Group(node, acc, Many, visiting);
                break;
            case "optional" or "group" or "interleave" or "mixed" or "div" or "define":
                Group(node, acc, multiplicity, visiting);
                break;
            case "choice":
                Choice(node.Elements(), acc, multiplicity, visiting);
                break;
            default:
                // attribute, data, value, text, empty, notAllowed, ...: no child elements.
                break;
        }
    }

    private void Group(XElement node, Dictionary<string, (int Count, List<XElement> Nodes)> acc, int multiplicity, HashSet<string> visiting)
    {
        foreach (var child in node.Elements())
        {
            Content(child, acc, multiplicity, visiting);
        }
    }

    private void Choice(IEnumerable<XElement> branches, Dictionary<string, (int Count, List<XElement> Nodes)> acc, int multiplicity, HashSet<string> visiting)
    {
        var merged = new Dictionary<string, (int Count, List<XElement> Nodes)>(StringComparer.Ordinal);
        foreach (var branch in branches)
        {
            var one = new Dictionary<string, (int Count, List<XElement> Nodes)>(StringComparer.Ordinal);
            Content(branch, one, multiplicity, visiting);
            foreach (var (name, (count, nodes)) in one)
            {
                var existing = merged.GetValueOrDefault(name, (0, []));
                merged[name] = (Math.Max(existing.Count, count), [.. existing.Nodes, .. nodes]);
            }
        }
        foreach (var (name, (count, nodes)) in merged)
        {
            var existing = acc.GetValueOrDefault(name, (0, []));
            acc[name] = (Math.Min(Many, existing.Count + count), [.. existing.Nodes, .. nodes]);
        }
    }

    /// <summary>Element names of a pattern (<c>name=</c> or a name class), prefixed by the inherited <c>ns</c>.</summary>
    private static IEnumerable<string> Names(XElement element)
    {
        var ns = element.AncestorsAndSelf().Select(a => (string?)a.Attribute("ns")).FirstOrDefault(n => n is not null) ?? string.Empty;
        var prefix = ns.Length > 0 && Prefixes.TryGetValue(ns, out var p) ? p + ":" : string.Empty;
        if ((string?)element.Attribute("name") is { } name)
        {
            yield return prefix + name;
            yield break;
        }
        foreach (var nameClass in element.Elements(Rng + "name").Concat(element.Elements(Rng + "choice").Elements(Rng + "name")))
        {
            yield return prefix + nameClass.Value.Trim();
        }
    }
}
