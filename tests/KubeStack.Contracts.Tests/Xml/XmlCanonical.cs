using System.Text;
using System.Xml.Linq;

namespace KubeStack.Contracts.Tests.Xml;

/// <summary>
/// A canonical text form of an XML tree for comparisons "up to formatting": expanded element and attribute names,
/// attributes sorted, namespace declarations and comments ignored, whitespace-only text between child elements
/// ignored; element text is kept exactly; child order is kept.
/// </summary>
internal static class XmlCanonical
{
    public static string Of(string xml) => Of(XElement.Parse(xml));

    public static string Of(XElement element)
    {
        var builder = new StringBuilder();
        Write(element, builder, 0);
        return builder.ToString();
    }

    private static void Write(XElement element, StringBuilder builder, int depth)
    {
        builder.Append(' ', depth * 2).Append('<').Append(element.Name.ToString());
        foreach (var attribute in element.Attributes().Where(a => !a.IsNamespaceDeclaration)
                     .OrderBy(a => a.Name.ToString(), StringComparer.Ordinal))
        {
            builder.Append(' ').Append(attribute.Name.ToString()).Append("='").Append(attribute.Value).Append('\'');
        }
        builder.Append('>');
        var hasChildren = element.Elements().Any();
        var text = string.Concat(element.Nodes().OfType<XText>()
            .Where(t => !hasChildren || !string.IsNullOrWhiteSpace(t.Value)).Select(t => t.Value));
        if (text.Length > 0)
        {
            builder.Append(" text=[").Append(text).Append(']');
        }
        builder.Append('\n');
        foreach (var child in element.Elements())
        {
            Write(child, builder, depth + 1);
        }
    }
}
