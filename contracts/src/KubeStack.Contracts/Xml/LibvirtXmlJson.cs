using System.Collections.Frozen;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Xml;
using System.Xml.Linq;

namespace KubeStack.Contracts.Xml;

/// <summary>
/// The libvirt XML ↔ JSON codec of architecture §1.7 (the seed's <c>spec.domain</c> / <c>spec.domainsnapshot</c>
/// encoding). It works on the XML tree (<see cref="XElement"/>) and on <see cref="JsonObject"/>, never on text.
/// <list type="bullet">
/// <item>The JSON object is the root element's content; the root's name is implied by the <see cref="LibvirtDocument"/>.</item>
/// <item>Attribute <c>a</c> → key <c>_a</c> with a string value. Namespaced attributes keep their prefix
/// (<c>_xlink:href</c>); namespace declarations are kept as <c>_xmlns</c> / <c>_xmlns:p</c> so prefixes survive.</item>
/// <item>Element text → key <c>text</c> (string). Whitespace-only text between child elements is formatting and is dropped.
/// Mixed content (an element with both text and child elements, which libvirt's own schemas never use) keeps the
/// concatenated text under <c>text</c>; on the way back it is written before the children.</item>
/// <item>Child element → nested object under its name (<c>prefix:local</c> when namespaced); an empty element → <c>{}</c>.</item>
/// <item>Repeated elements → arrays; at the paths of <see cref="LibvirtArrayPaths"/> always arrays, even with one item.</item>
/// <item>Element names that are Java keywords get a leading <c>_</c> (<c>interface</c> → <c>_interface</c>,
/// <c>transient</c> → <c>_transient</c>); such keys carry objects or arrays, attribute keys carry strings, which is
/// how <see cref="ToXml(JsonObject, LibvirtDocument)"/> tells them apart.</item>
/// <item>Comments and processing instructions are not carried (they are formatting, not data).</item>
/// </list>
/// <see cref="ToXml(JsonObject, LibvirtDocument)"/> is lenient with input written by other clients: numbers and
/// booleans become their invariant text, a plain string under an element key becomes that element's text, nulls are
/// skipped, and the seed's <c>__interfaceid</c> artifact (anomaly A002) is read as the attribute <c>interfaceid</c>.
/// </summary>
public static class LibvirtXmlJson
{
    /// <summary>The key that holds element text.</summary>
    public const string TextKey = "text";

    private const string AttributePrefix = "_";
    private const string XmlnsKey = "_xmlns";
    private const string SeedInterfaceIdArtifact = "__interfaceid";

    /// <summary>Java reserved words (and literals): element names among them get a leading '_' in JSON.</summary>
    public static readonly FrozenSet<string> JavaKeywords = new[]
    {
        "abstract", "assert", "boolean", "break", "byte", "case", "catch", "char", "class", "const", "continue",
        "default", "do", "double", "else", "enum", "extends", "final", "finally", "float", "for", "goto", "if",
        "implements", "import", "instanceof", "int", "interface", "long", "native", "new", "package", "private",
        "protected", "public", "return", "short", "static", "strictfp", "super", "switch", "synchronized", "this",
        "throw", "throws", "transient", "try", "void", "volatile", "while", "true", "false", "null",
    }.ToFrozenSet(StringComparer.Ordinal);

    /// <summary>The root element name of a document type (<c>domain</c>, <c>domainsnapshot</c>, <c>pool</c>, <c>volume</c>, <c>network</c>).</summary>
    public static string RootElementName(LibvirtDocument document) => document switch
    {
        LibvirtDocument.Domain => "domain",
        LibvirtDocument.DomainSnapshot => "domainsnapshot",
        LibvirtDocument.StoragePool => "pool",
        LibvirtDocument.StorageVolume => "volume",
        LibvirtDocument.Network => "network",
        _ => throw new ArgumentOutOfRangeException(nameof(document), document, "Unknown libvirt document type."),
    };

    /// <summary>Parses libvirt XML (e.g. <c>virsh dumpxml</c> output) and encodes it as JSON.</summary>
    /// <exception cref="LibvirtXmlJsonException">The XML is not well-formed, has the wrong root, or cannot be encoded without loss.</exception>
    public static JsonObject ToJson(string xml, LibvirtDocument document)
    {
        ArgumentNullException.ThrowIfNull(xml);
        XDocument parsed;
        try
        {
            // libvirt never emits a DTD; refusing one rules out entity-expansion tricks in input from elsewhere.
            var settings = new XmlReaderSettings { DtdProcessing = DtdProcessing.Prohibit, XmlResolver = null, IgnoreWhitespace = true };
            using var reader = XmlReader.Create(new StringReader(xml), settings);
            parsed = XDocument.Load(reader, LoadOptions.None);
        }
        catch (XmlException ex)
        {
            throw new LibvirtXmlJsonException(
                $"The libvirt {RootElementName(document)} XML is not well-formed: {ex.Message}", ex);
        }
        return ToJson(parsed.Root!, document);
    }

    /// <summary>Encodes an already parsed root element as JSON.</summary>
    public static JsonObject ToJson(XElement root, LibvirtDocument document)
    {
        ArgumentNullException.ThrowIfNull(root);
        var expected = RootElementName(document);
        if (root.Name.Namespace != XNamespace.None || root.Name.LocalName != expected)
        {
            throw new LibvirtXmlJsonException(
                $"The XML root element is <{root.Name.LocalName}>, but a libvirt {document} document has the root <{expected}>.");
        }
        return EncodeElement(root, expected, document);
    }

    /// <summary>Decodes the JSON encoding of a document back to libvirt XML text (indented, no XML declaration).</summary>
    /// <exception cref="LibvirtXmlJsonException">The JSON cannot be mapped to XML (bad names, unknown namespace prefix, wrong value types).</exception>
    public static string ToXml(JsonObject json, LibvirtDocument document)
    {
        var element = ToXElement(json, document);
        var settings = new XmlWriterSettings { OmitXmlDeclaration = true, Indent = true, IndentChars = "  " };
        var builder = new StringBuilder();
        using (var writer = XmlWriter.Create(builder, settings))
        {
            element.WriteTo(writer);
        }
        return builder.ToString();
    }

    /// <summary>Decodes the JSON encoding of a document back to its root <see cref="XElement"/>.</summary>
    public static XElement ToXElement(JsonObject json, LibvirtDocument document)
    {
        ArgumentNullException.ThrowIfNull(json);
        var root = RootElementName(document);
        return DecodeElement(root, json, root, NamespaceScope.Empty);
    }

    // ---------------------------------------------------------------- XML → JSON

    private static JsonObject EncodeElement(XElement element, string path, LibvirtDocument document)
    {
        var result = new JsonObject();
        foreach (var attribute in element.Attributes())
        {
            var key = AttributePrefix + AttributeName(element, attribute);
            Add(result, key, JsonValue.Create(attribute.Value), path);
        }

        var hasChildElements = element.Elements().Any();
        var text = new StringBuilder();
        foreach (var node in element.Nodes())
        {
            if (node is XText textNode && (!hasChildElements || !string.IsNullOrWhiteSpace(textNode.Value)))
            {
                text.Append(textNode.Value);
            }
        }
        if (text.Length > 0)
        {
            Add(result, TextKey, JsonValue.Create(text.ToString()), path);
        }

        foreach (var group in element.Elements().GroupBy(e => ElementName(e), StringComparer.Ordinal))
        {
            var childPath = path + "/" + group.Key;
            var items = group.ToList();
            var key = JsonKeyOfElement(group.Key);
            if (items.Count > 1 || LibvirtArrayPaths.IsArrayPath(document, childPath))
            {
                var array = new JsonArray();
                foreach (var item in items)
                {
                    array.Add(EncodeElement(item, childPath, document));
                }
                Add(result, key, array, path);
            }
            else
            {
                Add(result, key, EncodeElement(items[0], childPath, document), path);
            }
        }
        return result;
    }

    private static void Add(JsonObject target, string key, JsonNode? value, string path)
    {
        if (!target.TryAdd(key, value))
        {
            throw new LibvirtXmlJsonException(
                $"The element <{path}> cannot be encoded without loss: two of its parts map to the JSON key '{key}'.");
        }
    }

    /// <summary>The element's name as written: <c>prefix:local</c> when it is in a prefixed namespace, else <c>local</c>.</summary>
    private static string ElementName(XElement element)
    {
        var ns = element.Name.Namespace;
        if (ns == XNamespace.None)
        {
            return element.Name.LocalName;
        }
        var prefix = element.GetPrefixOfNamespace(ns);
        return string.IsNullOrEmpty(prefix) ? element.Name.LocalName : prefix + ":" + element.Name.LocalName;
    }

    private static string AttributeName(XElement owner, XAttribute attribute)
    {
        if (attribute.IsNamespaceDeclaration)
        {
            return attribute.Name.Namespace == XNamespace.None ? "xmlns" : "xmlns:" + attribute.Name.LocalName;
        }
        var ns = attribute.Name.Namespace;
        if (ns == XNamespace.None)
        {
            return attribute.Name.LocalName;
        }
        if (ns == XNamespace.Xml)
        {
            return "xml:" + attribute.Name.LocalName;
        }
        var prefix = owner.GetPrefixOfNamespace(ns)
            ?? throw new LibvirtXmlJsonException(
                $"The attribute {{{ns.NamespaceName}}}{attribute.Name.LocalName} has no namespace prefix in scope.");
        return prefix + ":" + attribute.Name.LocalName;
    }

    /// <summary>The JSON key of an element name: Java keywords get a leading '_'.</summary>
    public static string JsonKeyOfElement(string elementName)
    {
        ArgumentNullException.ThrowIfNull(elementName);
        return JavaKeywords.Contains(elementName) ? "_" + elementName : elementName;
    }

    // ---------------------------------------------------------------- JSON → XML

    private static XElement DecodeElement(string elementName, JsonObject json, string path, NamespaceScope parentScope)
    {
        var scope = parentScope.With(json, path);
        var element = new XElement(scope.ResolveElement(elementName, path));

        foreach (var (key, value) in json)
        {
            if (value is null || !IsAttributeKey(key, value))
            {
                continue;
            }
            element.Add(DecodeAttribute(key, (JsonValue)value, scope, path));
        }

        if (json.TryGetPropertyValue(TextKey, out var textNode) && textNode is JsonValue textValue)
        {
            element.Add(new XText(ScalarText(textValue, path + "/" + TextKey)));
        }

        foreach (var (key, value) in json)
        {
            if (value is null || IsAttributeKey(key, value) || (key == TextKey && value is JsonValue))
            {
                continue;
            }
            var childName = ElementNameOfKey(key);
            var childPath = path + "/" + childName;
            switch (value)
            {
                case JsonObject obj:
                    element.Add(DecodeElement(childName, obj, childPath, scope));
                    break;
                case JsonArray array:
                    foreach (var item in array)
                    {
                        if (item is not null)
                        {
                            element.Add(DecodeItem(childName, item, childPath, scope));
                        }
                    }
                    break;
                case JsonValue scalar:
                    element.Add(new XElement(scope.ResolveElement(childName, childPath), ScalarText(scalar, childPath)));
                    break;
            }
        }
        return element;
    }

    private static XElement DecodeItem(string name, JsonNode item, string path, NamespaceScope scope) => item switch
    {
        JsonObject obj => DecodeElement(name, obj, path, scope),
        JsonValue scalar => new XElement(scope.ResolveElement(name, path), ScalarText(scalar, path)),
        _ => throw new LibvirtXmlJsonException($"The array at '{path}' holds an array; each item must be an object."),
    };

    /// <summary>Keys starting with '_' whose value is a scalar are attributes; '_keyword' with an object or array is an element.</summary>
    private static bool IsAttributeKey(string key, JsonNode value) =>
        key.StartsWith(AttributePrefix, StringComparison.Ordinal) && key.Length > 1 && value is JsonValue;

    private static string ElementNameOfKey(string key)
    {
        if (key.Length > 1 && key[0] == '_' && JavaKeywords.Contains(key[1..]))
        {
            return key[1..];
        }
        return key;
    }

    private static XAttribute DecodeAttribute(string key, JsonValue value, NamespaceScope scope, string path)
    {
        var text = ScalarText(value, path + "/@" + key);
        if (key == XmlnsKey)
        {
            return new XAttribute("xmlns", text);
        }
        if (key.StartsWith(XmlnsKey + ":", StringComparison.Ordinal))
        {
            return new XAttribute(XNamespace.Xmlns + key[(XmlnsKey.Length + 1)..], text);
        }
        var name = key == SeedInterfaceIdArtifact ? "interfaceid" : key[1..];
        return new XAttribute(scope.ResolveAttribute(name, path), text);
    }

    private static string ScalarText(JsonValue value, string path) => value.GetValueKind() switch
    {
        JsonValueKind.String => value.GetValue<string>(),
        JsonValueKind.Number => value.ToJsonString(),
        JsonValueKind.True => "true",
        JsonValueKind.False => "false",
        var kind => throw new LibvirtXmlJsonException($"The value at '{path}' is {kind}; a string was expected."),
    };

    /// <summary>The namespace prefixes in scope while decoding, built from <c>_xmlns</c> / <c>_xmlns:p</c> keys.</summary>
    private sealed class NamespaceScope
    {
        public static readonly NamespaceScope Empty = new(new Dictionary<string, XNamespace>(StringComparer.Ordinal)
        {
            [string.Empty] = XNamespace.None,
            ["xml"] = XNamespace.Xml,
        });

        private readonly Dictionary<string, XNamespace> _prefixes;

        private NamespaceScope(Dictionary<string, XNamespace> prefixes) => _prefixes = prefixes;

        public NamespaceScope With(JsonObject json, string path)
        {
            Dictionary<string, XNamespace>? copy = null;
            foreach (var (key, value) in json)
            {
                string prefix;
                if (key == XmlnsKey)
                {
                    prefix = string.Empty;
                }
                else if (key.StartsWith(XmlnsKey + ":", StringComparison.Ordinal))
                {
                    prefix = key[(XmlnsKey.Length + 1)..];
                }
                else
                {
                    continue;
                }
                if (value is not JsonValue uri)
                {
                    throw new LibvirtXmlJsonException($"The namespace declaration '{key}' at '{path}' must be a string.");
                }
                copy ??= new Dictionary<string, XNamespace>(_prefixes, StringComparer.Ordinal);
                copy[prefix] = XNamespace.Get(ScalarText(uri, path + "/@" + key));
            }
            return copy is null ? this : new NamespaceScope(copy);
        }

        public XName ResolveElement(string name, string path)
        {
            var (prefix, local) = Split(name, path);
            if (!_prefixes.TryGetValue(prefix, out var ns))
            {
                throw new LibvirtXmlJsonException(
                    $"The element '{name}' at '{path}' uses the namespace prefix '{prefix}', which no enclosing '_xmlns:{prefix}' declares.");
            }
            return ns + local;
        }

        public XName ResolveAttribute(string name, string path)
        {
            var (prefix, local) = Split(name, path);
            if (prefix.Length == 0)
            {
                return XName.Get(local);
            }
            if (!_prefixes.TryGetValue(prefix, out var ns))
            {
                throw new LibvirtXmlJsonException(
                    $"The attribute '{name}' at '{path}' uses the namespace prefix '{prefix}', which no enclosing '_xmlns:{prefix}' declares.");
            }
            return ns + local;
        }

        private static (string Prefix, string Local) Split(string name, string path)
        {
            var colon = name.IndexOf(':', StringComparison.Ordinal);
            var prefix = colon < 0 ? string.Empty : name[..colon];
            var local = colon < 0 ? name : name[(colon + 1)..];
            try
            {
                XmlConvert.VerifyNCName(local);
                if (prefix.Length > 0)
                {
                    XmlConvert.VerifyNCName(prefix);
                }
            }
            catch (XmlException ex)
            {
                throw new LibvirtXmlJsonException($"The JSON key '{name}' at '{path}' is not a valid XML name.", ex);
            }
            return (prefix, local);
        }
    }
}
