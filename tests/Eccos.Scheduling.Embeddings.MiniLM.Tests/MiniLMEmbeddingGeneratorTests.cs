using System.Numerics.Tensors;
using Microsoft.Extensions.AI;

namespace Eccos.Scheduling.Embeddings.MiniLM.Tests;

public class MiniLMEmbeddingGeneratorTests
{
    private MiniLMEmbeddingGenerator _generator = null!;

    [OneTimeSetUp]
    public void LoadModel() => _generator = new MiniLMEmbeddingGenerator(new MiniLMEmbeddingGeneratorOptions { BatchSize = 4 });

    [OneTimeTearDown]
    public void DisposeModel() => _generator.Dispose();

    [Test]
    public async Task Embeddings_have_384_normalized_dimensions_and_metadata_says_so()
    {
        GeneratedEmbeddings<Embedding<float>> e = await _generator.GenerateAsync(["A short sentence.", "", new string('x', 5000)]);
        EmbeddingGeneratorMetadata metadata = _generator.GetService<EmbeddingGeneratorMetadata>()!;
        Assert.Multiple(() =>
        {
            Assert.That(metadata.DefaultModelDimensions, Is.EqualTo(384));
            Assert.That(metadata.DefaultModelId, Is.EqualTo("all-MiniLM-L6-v2"));
            Assert.That(e, Has.Count.EqualTo(3));
            foreach (Embedding<float> embedding in e)
            {
                Assert.That(embedding.Vector.Length, Is.EqualTo(384));
                Assert.That(TensorPrimitives.Norm(embedding.Vector.Span), Is.EqualTo(1f).Within(1e-4));
                Assert.That(embedding.ModelId, Is.EqualTo("all-MiniLM-L6-v2"));
            }
        });
    }

    [Test]
    public async Task Paraphrases_are_closer_than_unrelated_sentences()
    {
        GeneratedEmbeddings<Embedding<float>> e = await _generator.GenerateAsync(
        [
            "The cat is sleeping on the mat.",
            "A kitten naps on the rug.",
            "Quarterly revenue grew by ten percent.",
            "How do I compute the derivative of x squared?",
            "What is the slope of the tangent to y = x^2?",
        ]);
        float Cos(int a, int b) => TensorPrimitives.Dot(e[a].Vector.Span, e[b].Vector.Span);
        Assert.Multiple(() =>
        {
            Assert.That(Cos(0, 1), Is.GreaterThan(Cos(0, 2) + 0.3f));
            Assert.That(Cos(3, 4), Is.GreaterThan(Cos(3, 2) + 0.2f));
            Assert.That(Cos(3, 4), Is.GreaterThan(Cos(3, 0)));
        });
    }

    [Test]
    public async Task Embeddings_are_deterministic_and_independent_of_batching_and_order()
    {
        string[] texts = ["first text", "a much longer second text about something else entirely", "third", "fourth one here", "fifth"];
        GeneratedEmbeddings<Embedding<float>> batched = await _generator.GenerateAsync(texts);
        GeneratedEmbeddings<Embedding<float>> again = await _generator.GenerateAsync(texts);
        for (int i = 0; i < texts.Length; i++)
        {
            GeneratedEmbeddings<Embedding<float>> single = await _generator.GenerateAsync([texts[i]]);
            Assert.That(again[i].Vector.ToArray(), Is.EqualTo(batched[i].Vector.ToArray()));
            Assert.That(single[0].Vector.ToArray(), Is.EqualTo(batched[i].Vector.ToArray()).Within(1e-5f), $"text {i} alone vs in a batch");
        }
    }

    [Test]
    public async Task Concurrent_calls_give_the_same_embeddings_as_sequential_ones()
    {
        string[] texts = [.. Enumerable.Range(0, 6).Select(i => $"sentence number {i} about topic {i % 3}")];
        float[][] expected = [.. (await _generator.GenerateAsync(texts)).Select(e => e.Vector.ToArray())];
        float[][][] parallel = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
            (await _generator.GenerateAsync(texts)).Select(e => e.Vector.ToArray()).ToArray())));
        foreach (float[][] run in parallel)
        {
            for (int i = 0; i < texts.Length; i++)
            {
                Assert.That(run[i], Is.EqualTo(expected[i]).Within(1e-5f));
            }
        }
    }

    [Test]
    public void Cancellation_disposal_and_bad_input_are_reported()
    {
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        Assert.Multiple(() =>
        {
            Assert.That(async () => await _generator.GenerateAsync(["text"], null, cancelled.Token), Throws.InstanceOf<OperationCanceledException>());
            Assert.That(async () => await _generator.GenerateAsync(["text", null!]), Throws.ArgumentException.With.Message.Contains("index 1"));
            Assert.That(async () => await _generator.GenerateAsync(["text"], new EmbeddingGenerationOptions { Dimensions = 768 }),
                Throws.ArgumentException.With.Message.Contains("768"));
            Assert.That(() => new MiniLMEmbeddingGenerator(new MiniLMEmbeddingGeneratorOptions { BatchSize = 0 }),
                Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contains("BatchSize"));
        });

        var disposable = new MiniLMEmbeddingGenerator();
        disposable.Dispose();
        disposable.Dispose(); // idempotent
        Assert.That(async () => await disposable.GenerateAsync(["text"]), Throws.InstanceOf<ObjectDisposedException>());
    }
}
