using System.Globalization;
using System.Text;

namespace Eccos.Scheduling.Evaluation.Tests;

/// <summary>
/// Small generated outcome logs: three models (cheap/mid/strong, prices 0.1/1/5 per million tokens) over two tasks
/// with known accuracies, Bernoulli scores, fixed train/test split, and a share of queries where the mid model is absent.
/// </summary>
internal static class SyntheticOutcomes
{
    public static readonly ModelProfile[] Models =
    [
        new("cheap", 0.1, 0.1),
        new("mid", 1, 1),
        new("strong", 5, 5),
    ];

    // accuracy[task][model]
    private static readonly double[][] Accuracy =
    [
        [0.85, 0.9, 0.95], // easy
        [0.2, 0.55, 0.9],  // hard
    ];

    private static readonly int[] OutputTokens = [200, 300, 400];

    public static OutcomeDataset Create(int train = 300, int test = 200, int seed = 1, double absentShare = 0.1, string name = "synthetic")
    {
        var random = new Random(seed);
        var records = new List<OutcomeRecord>(train + test);
        for (int i = 0; i < train + test; i++)
        {
            int task = random.Next(2);
            var outputs = new List<ModelOutcome>();
            for (int j = 0; j < Models.Length; j++)
            {
                if (j == 1 && random.NextDouble() < absentShare)
                {
                    continue;
                }

                double score = random.NextDouble() < Accuracy[task][j] ? 1 : 0;
                outputs.Add(new ModelOutcome(Models[j].Name, score, OutputTokens[j] + random.Next(-50, 51)));
            }

            records.Add(new OutcomeRecord(
                string.Create(CultureInfo.InvariantCulture, $"q{i}"),
                (task == 0 ? "easy question " : "hard question ") + i.ToString(CultureInfo.InvariantCulture),
                100 + random.Next(100),
                outputs,
                task == 0 ? "easy" : "hard",
                i < train ? "train" : "test"));
        }

        return new OutcomeDataset(name, new ModelCatalog(Models), records);
    }

    /// <summary>Writes <paramref name="dataset"/> as a dataset folder (outcomes.jsonl and models.json).</summary>
    public static void WriteTo(OutcomeDataset dataset, string directory)
    {
        Directory.CreateDirectory(directory);
        var models = new StringBuilder("{\"currency\":\"USD\",\"models\":[");
        for (int j = 0; j < dataset.Catalog.Models.Count; j++)
        {
            ModelProfile m = dataset.Catalog.Models[j];
            models.Append(CultureInfo.InvariantCulture, $"{(j == 0 ? "" : ",")}{{\"name\":\"{m.Name}\",\"input_price\":{m.InputPricePerMillionTokens},\"output_price\":{m.OutputPricePerMillionTokens}}}");
        }

        File.WriteAllText(Path.Combine(directory, OutcomeDataset.ModelsFileName), models.Append("]}").ToString());
        File.WriteAllLines(Path.Combine(directory, OutcomeDataset.OutcomesFileName), dataset.Records.Select(OutcomeLogWriter.Format));
    }
}
