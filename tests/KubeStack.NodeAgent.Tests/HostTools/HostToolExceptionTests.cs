using KubeStack.NodeAgent.HostTools;

namespace KubeStack.NodeAgent.Tests.HostTools;

public sealed class HostToolExceptionTests
{
    [Fact]
    public void Message_names_tool_arguments_exit_code_and_stderr()
    {
        var ex = new HostToolException("qemu-img", ["info", "/p/my disk.qcow2"], 1, "qemu-img: Could not open '/p/my disk.qcow2'\n");
        Assert.Equal("qemu-img exited with code 1 (qemu-img info '/p/my disk.qcow2'): qemu-img: Could not open '/p/my disk.qcow2'", ex.Message);
        Assert.Equal(1, ex.ExitCode);
        Assert.False(ex.IsToolMissing);
    }

    [Fact]
    public void Stderr_is_bounded_to_its_tail()
    {
        var stderr = new string('x', 10_000) + "the reason";
        var ex = new HostToolException("t", [], 2, stderr);
        Assert.Equal(HostToolException.MaxStderrChars + 1, ex.Stderr.Length);
        Assert.EndsWith("the reason", ex.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void A_tool_that_could_not_start_is_reported_as_missing()
    {
        var ex = new HostToolException("nope", ["x"], -1, "No such file", new System.ComponentModel.Win32Exception(2));
        Assert.True(ex.IsToolMissing);
        Assert.StartsWith("nope could not be run (nope x)", ex.Message, StringComparison.Ordinal);
    }
}
