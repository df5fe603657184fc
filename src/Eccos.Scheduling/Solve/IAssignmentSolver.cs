namespace Eccos.Scheduling;

/// <summary>
/// Assigns each query of a batch to one model so that the constraints hold at the least predicted cost (or, with a
/// budget, at the highest predicted quality).
/// </summary>
/// <remarks>
/// Implementations are synchronous, deterministic for a given input (seeded where they use randomness), safe to call
/// from several threads at once, and observe <see cref="CancellationToken"/> between iterations by throwing
/// <see cref="OperationCanceledException"/>. Bad input gets an <see cref="ArgumentException"/> naming the problem.
/// </remarks>
public interface IAssignmentSolver
{
    /// <summary>Solves one assignment problem.</summary>
    /// <param name="predictions">Predicted quality, cost and eligibility for every (query, model) pair.</param>
    /// <param name="constraints">The quality target, capacities and optional budget.</param>
    /// <param name="cancellationToken">Cancels the solve.</param>
    /// <returns>The assignment with its cost, quality, bound and status.</returns>
    /// <exception cref="ArgumentException">The predictions or the constraints are invalid.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    AssignmentResult Solve(PredictionMatrix predictions, AssignmentConstraints constraints, CancellationToken cancellationToken = default);
}
