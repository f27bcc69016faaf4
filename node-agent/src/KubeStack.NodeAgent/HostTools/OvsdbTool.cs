namespace KubeStack.NodeAgent.HostTools;

/// <summary>
/// What <see cref="OvsVsctl"/> and <see cref="OvnNbctl"/> share: a database client tool run with an argument array,
/// several commands joined with <c>--</c> into ONE transaction (all or nothing: a failing command leaves nothing
/// half-made), and <c>--format=json</c> listings parsed into <see cref="OvsdbRow"/>s.
/// </summary>
public abstract class OvsdbTool(IHostToolRunner runner, string executable)
{
    /// <summary>Seconds the tool waits for its database before failing (never hangs a handler).</summary>
    public const int TimeoutSeconds = 10;

    public string Executable { get; } = executable;

    /// <summary>The words a transaction of <paramref name="commands"/> passes to the tool (pure; used by golden tests).</summary>
    public IReadOnlyList<string> TransactionArguments(IEnumerable<OvsdbCommand> commands)
    {
        ArgumentNullException.ThrowIfNull(commands);
        var args = new List<string>(GlobalOptions());
        var any = false;
        foreach (var c in commands)
        {
            if (c.Words.Count == 0) throw new ArgumentException("a command has no words", nameof(commands));
            args.Add("--");
            args.AddRange(c.Words);
            any = true;
        }
        if (!any) throw new ArgumentException("a transaction needs at least one command", nameof(commands));
        return args;
    }

    /// <summary>Runs the commands in one transaction; returns stdout (one line per command that prints, e.g. a created UUID).</summary>
    public async Task<string> TransactAsync(IEnumerable<OvsdbCommand> commands, CancellationToken cancellationToken = default)
    {
        var r = await runner.RunAsync(Executable, TransactionArguments(commands), cancellationToken).ConfigureAwait(false);
        return r.Stdout;
    }

    public Task<string> TransactAsync(CancellationToken cancellationToken, params OvsdbCommand[] commands) =>
        TransactAsync(commands, cancellationToken);

    /// <summary><c>--format=json --columns=... find TABLE cond...</c> (no condition: every row).</summary>
    public async Task<IReadOnlyList<OvsdbRow>> FindAsync(string table, IReadOnlyCollection<string> columns, IEnumerable<string>? conditions = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(table);
        ArgumentNullException.ThrowIfNull(columns);
        var args = new List<string>(GlobalOptions()) { "--format=json" };
        if (columns.Count > 0) args.Add("--columns=" + string.Join(',', columns));
        args.Add("find");
        args.Add(table);
        if (conditions is not null) args.AddRange(conditions);
        var r = await runner.RunAsync(Executable, args, cancellationToken).ConfigureAwait(false);
        try
        {
            return OvsdbJson.ParseTable(r.Stdout);
        }
        catch (Exception ex) when (ex is FormatException or System.Text.Json.JsonException or InvalidOperationException)
        {
            throw new HostToolException(Executable, args, 0, $"unparseable JSON listing: {ex.Message}", ex);
        }
    }

    /// <summary>The rows of <paramref name="table"/> whose <c>name</c> is <paramref name="name"/>.</summary>
    public Task<IReadOnlyList<OvsdbRow>> FindByNameAsync(string table, string name, IReadOnlyCollection<string> columns, CancellationToken cancellationToken = default) =>
        FindAsync(table, columns, [$"name={OvsdbJson.Quote(name)}"], cancellationToken);

    /// <summary>Options before the first command.</summary>
    protected virtual IEnumerable<string> GlobalOptions() => [$"--timeout={TimeoutSeconds}"];
}
