using KubeStack.NodeAgent.HostTools;

namespace KubeStack.NodeAgent.Tests.Network;

public sealed class OvsdbJsonTests
{
    private const string Ports =
        """{"data":[[["uuid","75290138-366e-402b-b56b-79e65bdafbff"],"br-int",["set",[]],["map",[]]],[["uuid","9df71bfc-485c-4d77-be32-2d13d67067e9"],"kst-dbg",7,["map",[["attached-mac","52:54:00:aa:00:01"]]]]],"headings":["_uuid","name","tag","external_ids"]}""";

    [Fact]
    public void ParseTable_decodes_uuids_numbers_empty_sets_and_maps()
    {
        var rows = OvsdbJson.ParseTable(Ports);
        Assert.Equal(2, rows.Count);
        Assert.Equal("75290138-366e-402b-b56b-79e65bdafbff", rows[0].Uuid);
        Assert.Null(rows[0].Integer("tag"));
        Assert.Null(rows[0].Text("tag"));
        Assert.Equal(typeof(long), rows[1]["tag"]?.GetType());
        Assert.Equal(7, rows[1].Integer("tag"));
        Assert.Equal("7", rows[1].Text("tag"));
        Assert.Equal("52:54:00:aa:00:01", rows[1].Map("external_ids")["attached-mac"]);
        Assert.Empty(rows[0].Map("external_ids"));
    }

    [Fact]
    public void Set_reads_a_set_and_a_single_atom_as_lists()
    {
        var rows = OvsdbJson.ParseTable("""{"data":[[["set",["a","b"]],"x"]],"headings":["addresses","one"]}""");
        Assert.Equal(["a", "b"], rows[0].Set("addresses"));
        Assert.Equal(["x"], rows[0].Set("one"));
    }

    [Fact]
    public void ParseTable_refuses_rows_that_do_not_fit_the_headings()
    {
        Assert.Throws<FormatException>(() => OvsdbJson.ParseTable("""{"data":[["a","b"]],"headings":["name"]}"""));
        Assert.Throws<FormatException>(() => OvsdbJson.ParseTable("""{"data":[[["weird",1]]],"headings":["name"]}"""));
    }

    [Fact]
    public void Quote_escapes_quotes_and_backslashes_for_the_tools_value_syntax()
    {
        Assert.Equal("\"inport == \\\"p1\\\" && ip4\"", OvsdbJson.Quote("inport == \"p1\" && ip4"));
        Assert.Equal("\"a\\\\b\"", OvsdbJson.Quote("a\\b"));
        Assert.Equal("\"10.0.0.1\",\"10.0.0.2\"", OvsdbJson.QuoteSet(["10.0.0.1", "10.0.0.2"]));
        Assert.Equal("[]", OvsdbJson.QuoteSet([]));
    }
}
