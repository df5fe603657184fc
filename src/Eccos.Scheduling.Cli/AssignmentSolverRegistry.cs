namespace Eccos.Scheduling.Cli;

/// <summary>
/// Solvers by name, so that an evaluation (or a command line) can pick one and compare solvers on the same
/// predictions. A name may carry an argument after a colon, passed to the factory: <c>single:gpt-4o</c>.
/// </summary>
/// <remarks>
/// <para>
/// <see cref="CreateDefault"/> holds the solvers of this library. Register your own with <see cref="Register"/>; a
/// registration under an existing name replaces it. Names are compared case-insensitively and must not contain ':'.
/// </para>
/// <para>
/// Thread safety: registering is not thread-safe; once filled, <see cref="Create"/> and <see cref="Contains"/> may be
/// called from several threads at once.
/// </para>
/// </remarks>
internal sealed class AssignmentSolverRegistry
{
    private readonly Dictionary<string, Func<AssignmentSolverContext, IAssignmentSolver>> _factories = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Gets the registered names, sorted.</summary>
    public IReadOnlyList<string> Names => [.. _factories.Keys.Order(StringComparer.OrdinalIgnoreCase)];

    /// <summary>Creates a registry holding the solvers of this library.</summary>
    /// <returns>A new registry; changes to it affect no other registry.</returns>
    /// <remarks>
    /// Names: <c>lagrangian</c> (<see cref="LagrangianAssignmentSolver"/>), <c>exact</c> (<see cref="ExactAssignmentSolver"/>,
    /// small batches), <c>threshold</c>, <c>single:&lt;model&gt;</c>, <c>cheapest</c>, <c>round-robin</c> and <c>random</c> (seeded).
    /// </remarks>
    public static AssignmentSolverRegistry CreateDefault() =>
        new AssignmentSolverRegistry()
            .Register("lagrangian", static _ => new LagrangianAssignmentSolver())
            .Register("exact", static _ => new ExactAssignmentSolver())
            .Register("threshold", static _ => new ThresholdAssignmentSolver())
            .Register("single", static c => new SingleModelAssignmentSolver(
                c.Argument ?? throw new ArgumentException("Solver 'single' needs a model name: single:<model>.", nameof(c))))
            .Register("cheapest", static _ => new CheapestModelAssignmentSolver())
            .Register("round-robin", static _ => new RoundRobinAssignmentSolver())
            .Register("random", static c => new RandomAssignmentSolver(c.Seed));

    /// <summary>Registers (or replaces) a solver factory.</summary>
    /// <param name="name">The name, without ':'.</param>
    /// <param name="factory">Creates a solver for a context (argument after the colon, seed).</param>
    /// <returns>This registry.</returns>
    /// <exception cref="ArgumentException">The name is empty or contains ':'.</exception>
    public AssignmentSolverRegistry Register(string name, Func<AssignmentSolverContext, IAssignmentSolver> factory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(factory);
        if (name.Contains(':', StringComparison.Ordinal))
        {
            throw new ArgumentException($"Solver name '{name}' must not contain ':' (it separates the argument).", nameof(name));
        }

        _factories[name] = factory;
        return this;
    }

    /// <summary>Returns whether a solver is registered under the name part of <paramref name="name"/>.</summary>
    /// <param name="name">A name, with or without an argument.</param>
    /// <returns><see langword="true"/> when registered.</returns>
    public bool Contains(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return _factories.ContainsKey(Parse(name).Name);
    }

    /// <summary>Creates the solver named <paramref name="name"/>.</summary>
    /// <param name="name">A registered name, optionally followed by <c>:argument</c>.</param>
    /// <param name="seed">The seed for solvers that draw random numbers.</param>
    /// <returns>A new solver.</returns>
    /// <exception cref="ArgumentException">No solver has that name (the message lists the registered ones), or the factory rejects the argument.</exception>
    public IAssignmentSolver Create(string name, int seed = 0)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        (string key, string? argument) = Parse(name);
        if (!_factories.TryGetValue(key, out Func<AssignmentSolverContext, IAssignmentSolver>? factory))
        {
            throw new ArgumentException($"Unknown solver '{key}'; registered: {string.Join(", ", Names)}.", nameof(name));
        }

        return factory(new AssignmentSolverContext(argument, seed));
    }

    private static (string Name, string? Argument) Parse(string name)
    {
        int colon = name.IndexOf(':', StringComparison.Ordinal);
        return colon < 0 ? (name.Trim(), null) : (name[..colon].Trim(), name[(colon + 1)..]);
    }
}

/// <summary>What an <see cref="AssignmentSolverRegistry"/> factory gets to build a solver.</summary>
/// <param name="Argument">The text after the colon of the requested name (for example a model name), or <see langword="null"/>.</param>
/// <param name="Seed">The seed for solvers that draw random numbers.</param>
internal sealed record AssignmentSolverContext(string? Argument, int Seed);
