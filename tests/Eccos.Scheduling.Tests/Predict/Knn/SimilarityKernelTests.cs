using System.Numerics.Tensors;

namespace Eccos.Scheduling.Tests.Predict.Knn;

public class SimilarityKernelTests
{
    [TestCase(5)]
    [TestCase(13)]
    [TestCase(384)]
    [TestCase(389)]
    public void Block_dots_equal_single_dots_bit_for_bit_and_match_the_reference(int dims)
    {
        var rng = new Random(dims);
        float[] row = [.. Enumerable.Range(0, dims).Select(_ => (float)rng.NextDouble() - 0.5f)];
        float[] queries = [.. Enumerable.Range(0, SimilarityKernel.Block * dims).Select(_ => (float)rng.NextDouble() - 0.5f)];
        var block = new float[SimilarityKernel.Block];
        SimilarityKernel.Dot(row, queries, SimilarityKernel.Block, block);
        for (int q = 0; q < SimilarityKernel.Block; q++)
        {
            var single = new float[1];
            SimilarityKernel.Dot(row, queries.AsSpan(q * dims, dims), 1, single);
            Assert.That(single[0], Is.EqualTo(block[q]), $"query {q}: alone and in a block");
            Assert.That(block[q], Is.EqualTo(TensorPrimitives.Dot(row, queries.AsSpan(q * dims, dims))).Within(1e-4f));
        }

        var partial = new float[SimilarityKernel.Block];
        SimilarityKernel.Dot(row, queries, 3, partial);
        Assert.That(partial.AsSpan(0, 3).ToArray(), Is.EqualTo(block.AsSpan(0, 3).ToArray()));
    }

    [TestCase(5, 3)]
    [TestCase(13, 8)]
    [TestCase(384, 21)]
    [TestCase(389, 64)]
    public void Row_blocked_dots_of_one_query_equal_single_dots_bit_for_bit(int dims, int rows)
    {
        var rng = new Random(dims + rows);
        float[] query = [.. Enumerable.Range(0, dims).Select(_ => (float)rng.NextDouble() - 0.5f)];
        float[] stored = [.. Enumerable.Range(0, rows * dims).Select(_ => (float)rng.NextDouble() - 0.5f)];
        var dots = new float[rows];
        SimilarityKernel.DotRows(query, stored, rows, dots);
        for (int r = 0; r < rows; r++)
        {
            var single = new float[1];
            SimilarityKernel.Dot(stored.AsSpan(r * dims, dims), query, 1, single);
            Assert.That(dots[r], Is.EqualTo(single[0]), $"row {r}: eight rows at a time and one row at a time");
        }
    }
}
