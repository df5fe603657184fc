namespace Eccos.Scheduling.Tests.Predict.Knn;

/// <summary>Small generated histories for kNN tests.</summary>
internal static class KnnTestData
{
    public static readonly ModelProfile Cheap = new("cheap", 0.1, 0.2);
    public static readonly ModelProfile Strong = new("strong", 2, 8);

    public static float[] RandomUnit(Random rng, int dims)
    {
        var v = new float[dims];
        double norm = 0;
        for (int i = 0; i < dims; i++)
        {
            v[i] = (float)((rng.NextDouble() * 2) - 1);
            norm += v[i] * v[i];
        }

        for (int i = 0; i < dims; i++)
        {
            v[i] /= (float)Math.Sqrt(norm);
        }

        return v;
    }

    public static OutcomeRecord Record(string id, float[] vector, string? task, params ModelOutcome[] outputs) =>
        new(id, FakeEmbeddingGenerator.Text(vector), 100, outputs, task);

    /// <summary>A history of random vectors where "strong" is right 80% and "cheap" 40% of the time.</summary>
    public static List<OutcomeRecord> RandomHistory(int count, int dims, int seed, string[]? tasks = null)
    {
        var rng = new Random(seed);
        var list = new List<OutcomeRecord>(count);
        for (int i = 0; i < count; i++)
        {
            list.Add(Record(
                $"r{i}",
                RandomUnit(rng, dims),
                tasks is null ? null : tasks[i % tasks.Length],
                new ModelOutcome("cheap", rng.NextDouble() < 0.4 ? 1 : 0, 10 + rng.Next(20)),
                new ModelOutcome("strong", rng.NextDouble() < 0.8 ? 1 : 0, 100 + rng.Next(50))));
        }

        return list;
    }

    /// <summary>
    /// Runs <paramref name="writers"/> concurrently with three readers that call <paramref name="read"/> until every
    /// writer is done (and at least three times each), checking that <paramref name="predictor"/>'s count never
    /// decreases as they read.
    /// </summary>
    public static async Task RaceAsync(KnnPredictor predictor, IReadOnlyList<Func<Task>> writers, Func<Task> read)
    {
        int writersDone = 0;
        Task[] writing = [.. writers.Select(write => Task.Run(async () =>
        {
            await write();
            Interlocked.Increment(ref writersDone);
        }))];
        Task[] reading = [.. Enumerable.Range(0, 3).Select(_ => Task.Run(async () =>
        {
            int lastCount = 0;
            int rounds = 0;
            while (Volatile.Read(ref writersDone) < writing.Length || rounds < 3)
            {
                int count = predictor.Count;
                Assert.That(count, Is.GreaterThanOrEqualTo(lastCount));
                lastCount = count;
                await read();
                rounds++;
            }
        }))];
        await Task.WhenAll([.. writing, .. reading]);
    }
}
