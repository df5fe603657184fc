namespace Eccos.Scheduling.ML.Tests.TestSupport;

/// <summary>Checks of a predictor's output that every consumer relies on.</summary>
internal static class Predictions
{
    /// <summary>Asserts that every quality lies in [0, 1], every cost and output-token count is finite and non-negative.</summary>
    public static void AssertValid(PredictionMatrix p)
    {
        for (int k = 0; k < p.Quality.Length; k++)
        {
            Assert.That(p.Quality[k], Is.InRange(0.0, 1.0), $"quality of cell {k}");
            Assert.That(double.IsFinite(p.Cost[k]) && p.Cost[k] >= 0, Is.True, $"cost of cell {k} is {p.Cost[k]}");
            Assert.That(double.IsFinite(p.OutputTokens[k]) && p.OutputTokens[k] >= 0, Is.True, $"output tokens of cell {k} are {p.OutputTokens[k]}");
        }
    }
}
