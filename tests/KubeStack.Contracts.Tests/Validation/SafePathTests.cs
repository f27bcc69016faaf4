using KubeStack.Contracts.Validation;

namespace KubeStack.Contracts.Tests.Validation;

/// <summary>SafePath against a real file system: temporary roots, real directories and symbolic links.</summary>
public sealed class SafePathTests : IDisposable
{
    private readonly string sandbox;
    private readonly string root;
    private readonly string otherRoot;
    private readonly string outside;
    private readonly IReadOnlyList<string> roots;

    public SafePathTests()
    {
        sandbox = Path.Combine(Path.GetTempPath(), "kubestack-safepath-" + Guid.NewGuid().ToString("N"));
        root = Path.Combine(sandbox, "libvirt");
        otherRoot = Path.Combine(sandbox, "localfs");
        outside = Path.Combine(sandbox, "outside");
        Directory.CreateDirectory(Path.Combine(root, "images"));
        Directory.CreateDirectory(otherRoot);
        Directory.CreateDirectory(outside);
        File.WriteAllText(Path.Combine(outside, "secret.txt"), "x");
        File.WriteAllText(Path.Combine(root, "images", "disk1.qcow2"), "x");
        roots = [root, otherRoot];
    }

    public void Dispose() => Directory.Delete(sandbox, recursive: true);

    [Fact]
    public void Existing_file_inside_a_root_resolves_to_itself()
    {
        var path = Path.Combine(root, "images", "disk1.qcow2");
        Assert.Equal(path, SafePath.Resolve(path, roots));
    }

    [Fact]
    public void File_that_does_not_exist_yet_inside_a_root_is_allowed()
    {
        var path = Path.Combine(root, "images", "new", "disk2.qcow2");
        Assert.Equal(path, SafePath.Resolve(path, roots));
    }

    [Fact]
    public void Dot_dot_segments_are_refused_before_touching_the_file_system()
    {
        var result = SafePath.TryResolve(root + "/images/../../outside/secret.txt", roots);
        Assert.False(result.IsSafe);
        Assert.Contains("'..'", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Path_outside_every_root_is_refused()
    {
        var ex = Assert.Throws<UnsafePathException>(() => SafePath.Resolve(Path.Combine(outside, "secret.txt"), roots));
        Assert.Contains("(the allowed directories)", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Symlink_escaping_the_root_is_refused()
    {
        File.CreateSymbolicLink(Path.Combine(root, "images", "escape.qcow2"), Path.Combine(outside, "secret.txt"));

        var result = SafePath.TryResolve(Path.Combine(root, "images", "escape.qcow2"), roots);

        Assert.False(result.IsSafe);
        Assert.Contains("symbolic link", result.Error, StringComparison.Ordinal);
        Assert.Contains(Path.Combine(outside, "secret.txt"), result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Symlinked_directory_escaping_the_root_is_refused_for_files_below_it()
    {
        Directory.CreateSymbolicLink(Path.Combine(root, "evil"), outside);
        Assert.False(SafePath.TryResolve(Path.Combine(root, "evil", "secret.txt"), roots).IsSafe);
        Assert.False(SafePath.TryResolve(Path.Combine(root, "evil", "not-yet.qcow2"), roots).IsSafe);
    }

    [Fact]
    public void Relative_symlink_climbing_out_of_the_root_is_refused()
    {
        File.CreateSymbolicLink(Path.Combine(root, "images", "up.qcow2"), "../../outside/secret.txt");
        Assert.False(SafePath.TryResolve(Path.Combine(root, "images", "up.qcow2"), roots).IsSafe);
    }

    [Fact]
    public void Dangling_symlink_pointing_outside_is_refused()
    {
        File.CreateSymbolicLink(Path.Combine(root, "images", "later.qcow2"), Path.Combine(outside, "created-later.qcow2"));
        Assert.False(SafePath.TryResolve(Path.Combine(root, "images", "later.qcow2"), roots).IsSafe);
    }

    [Fact]
    public void Symlink_staying_inside_the_roots_is_resolved()
    {
        File.WriteAllText(Path.Combine(otherRoot, "shared.qcow2"), "x");
        File.CreateSymbolicLink(Path.Combine(root, "images", "inside.qcow2"), "disk1.qcow2");
        File.CreateSymbolicLink(Path.Combine(root, "images", "other.qcow2"), Path.Combine(otherRoot, "shared.qcow2"));

        Assert.Equal(Path.Combine(root, "images", "disk1.qcow2"), SafePath.Resolve(Path.Combine(root, "images", "inside.qcow2"), roots));
        Assert.Equal(Path.Combine(otherRoot, "shared.qcow2"), SafePath.Resolve(Path.Combine(root, "images", "other.qcow2"), roots));
    }

    [Fact]
    public void Root_that_is_itself_a_symlink_still_contains_its_files()
    {
        var linkedRoot = Path.Combine(sandbox, "linked-root");
        Directory.CreateSymbolicLink(linkedRoot, root);

        Assert.Equal(Path.Combine(root, "images", "disk1.qcow2"), SafePath.Resolve(Path.Combine(linkedRoot, "images", "disk1.qcow2"), [linkedRoot]));
    }

    [Fact]
    public void Symlink_loop_is_refused()
    {
        File.CreateSymbolicLink(Path.Combine(root, "a"), Path.Combine(root, "b"));
        File.CreateSymbolicLink(Path.Combine(root, "b"), Path.Combine(root, "a"));

        var result = SafePath.TryResolve(Path.Combine(root, "a"), roots);

        Assert.False(result.IsSafe);
        Assert.Contains("symbolic links", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Default_roots_are_the_catalog_roots()
    {
        Assert.Equal(["/var/lib/libvirt", "/mnt/localfs", "/mnt/usb"], PathRule.DefaultRoots);
        Assert.False(SafePath.TryResolve("/etc/passwd").IsSafe);
    }
}
