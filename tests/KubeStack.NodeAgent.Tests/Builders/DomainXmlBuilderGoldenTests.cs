using System.Diagnostics;

namespace KubeStack.NodeAgent.Tests.Builders;

/// <summary>
/// Golden files: each <c>testassets/&lt;case&gt;/input.yaml</c> must build exactly <c>expected.xml</c>.
/// Run with <c>UPDATE_GOLDEN=1</c> to rewrite the expected files after an intended change (then review the diff).
/// </summary>
public class DomainXmlBuilderGoldenTests
{
    public static TheoryData<string> Cases => new(GoldenCase.All());

    [Theory]
    [MemberData(nameof(Cases))]
    public void Input_builds_the_expected_domain_xml(string name)
    {
        var golden = GoldenCase.Load(name);

        var xml = golden.Build().Xml;

        if (Environment.GetEnvironmentVariable("UPDATE_GOLDEN") == "1")
        {
            File.WriteAllText(golden.ExpectedPath, xml);
        }
        Assert.True(File.Exists(golden.ExpectedPath), $"{golden.ExpectedPath} is missing; run the tests once with UPDATE_GOLDEN=1.");
        Assert.Equal(File.ReadAllText(golden.ExpectedPath).ReplaceLineEndings("\n"), xml);
    }

    [Fact]
    public void There_are_golden_cases() => Assert.True(GoldenCase.All().Count() >= 5);

    [RequiresToolTheory("virt-xml-validate")]
    [MemberData(nameof(Cases))]
    public async Task Expected_xml_passes_libvirts_domain_schema(string name)
    {
        var file = GoldenFileToCheck(name);

        var (exitCode, output) = await Tool.RunAsync("virt-xml-validate", file, "domain");

        Assert.True(exitCode == 0, $"virt-xml-validate rejected {name}/expected.xml:\n{output}");
    }

    [RequiresToolFact("virt-xml-validate")]
    public async Task Schema_check_really_rejects_an_invalid_domain()
    {
        var file = Path.Combine(Path.GetTempPath(), $"kubestack-invalid-{Guid.NewGuid():N}.xml");
        await File.WriteAllTextAsync(file, "<domain type='bogus'><name>x</name><devices><disk/></devices></domain>");
        try
        {
            var (exitCode, _) = await Tool.RunAsync("virt-xml-validate", file, "domain");

            Assert.NotEqual(0, exitCode);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [RequiresToolTheory("virsh")]
    [MemberData(nameof(Cases))]
    public async Task Expected_xml_is_accepted_by_libvirts_parser_in_the_test_driver(string name)
    {
        var file = GoldenFileToCheck(name);

        // test:///default parses the full domain definition (not only the schema) without any daemon.
        var (exitCode, output) = await Tool.RunAsync("virsh", "-c", "test:///default", "define", file);

        Assert.True(exitCode == 0, $"libvirt refused {name}/expected.xml:\n{output}");
    }

    /// <summary>The committed expected.xml; while regenerating (UPDATE_GOLDEN=1) a fresh build in a temp file, so
    /// checks never race with the test that rewrites the golden files.</summary>
    private static string GoldenFileToCheck(string name)
    {
        var golden = GoldenCase.Load(name);
        if (Environment.GetEnvironmentVariable("UPDATE_GOLDEN") != "1")
        {
            return golden.ExpectedPath;
        }
        var file = Path.Combine(Path.GetTempPath(), $"kubestack-golden-{name}-{Environment.ProcessId}.xml");
        File.WriteAllText(file, golden.Build().Xml);
        return file;
    }
}

/// <summary>Runs a host tool with an argument array (no shell) and a timeout.</summary>
internal static class Tool
{
    public static async Task<(int ExitCode, string Output)> RunAsync(string tool, params string[] arguments)
    {
        using var process = new Process
        {
            StartInfo =
            {
                FileName = RequiresToolTheoryAttribute.Find(tool) ?? throw new InvalidOperationException($"{tool} is not installed."),
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            },
        };
        foreach (var argument in arguments)
        {
            process.StartInfo.ArgumentList.Add(argument);
        }
        process.Start();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout + await stderr);
    }
}

/// <summary>A theory that is skipped, with the reason, when a host tool is not on PATH.</summary>
public sealed class RequiresToolTheoryAttribute : TheoryAttribute
{
    public RequiresToolTheoryAttribute(string tool)
    {
        if (Find(tool) is null)
        {
            Skip = $"{tool} is not installed (apt-get install libvirt-clients).";
        }
    }

    public static string? Find(string tool) =>
        (Environment.GetEnvironmentVariable("PATH") ?? string.Empty)
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, tool))
            .FirstOrDefault(File.Exists);
}

/// <summary>A fact that is skipped, with the reason, when a host tool is not on PATH.</summary>
public sealed class RequiresToolFactAttribute : FactAttribute
{
    public RequiresToolFactAttribute(string tool)
    {
        if (RequiresToolTheoryAttribute.Find(tool) is null)
        {
            Skip = $"{tool} is not installed (apt-get install libvirt-clients).";
        }
    }
}
