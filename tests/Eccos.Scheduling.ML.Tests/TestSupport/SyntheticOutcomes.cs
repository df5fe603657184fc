using System.Globalization;
using System.Text;

namespace Eccos.Scheduling.ML.Tests.TestSupport;

/// <summary>
/// Small generated outcome logs whose signal is known: a query marked "tricky" in its text is much harder for every
/// model, "strong" beats "weak", the "physics" task is harder than "history", and "verbose" answers ten times longer.
/// </summary>
internal static class SyntheticOutcomes
{
    public static readonly ModelProfile Strong = new("strong", 1.0, 4.0);
    public static readonly ModelProfile Weak = new("weak", 0.1, 0.2);
    public static readonly ModelProfile Verbose = new("verbose", 0.5, 1.0);

    public static IReadOnlyList<ModelProfile> Models { get; } = [Strong, Weak, Verbose];

    private static readonly string[] Filler =
        ["compute", "the", "value", "of", "river", "empire", "energy", "charge", "treaty", "velocity", "king", "field", "war", "mass"];

    public static List<OutcomeRecord> Generate(int count, int seed, string idPrefix = "q")
    {
        var random = new Random(seed);
        var records = new List<OutcomeRecord>(count);
        for (int i = 0; i < count; i++)
        {
            bool tricky = random.NextDouble() < 0.4;
            string task = random.NextDouble() < 0.5 ? "physics" : "history";
            string text = Prompt(random, tricky);
            double difficulty = (tricky ? 2.2 : -0.6) + (task == "physics" ? 0.5 : -0.5);
            var outputs = new List<ModelOutcome>(3);
            foreach ((ModelProfile model, double skill, int length) in new[] { (Strong, 1.2, 40), (Weak, -0.6, 30), (Verbose, 0.3, 400) })
            {
                double p = 1 / (1 + Math.Exp(difficulty - skill));
                int tokens = (int)(length * (tricky ? 1.5 : 1.0) * Math.Exp(0.2 * ((random.NextDouble() * 2) - 1)));
                outputs.Add(new ModelOutcome(model.Name, random.NextDouble() < p ? 1 : 0, tokens));
            }

            records.Add(new OutcomeRecord(
                string.Create(CultureInfo.InvariantCulture, $"{idPrefix}{i}"), text, text.Length / 4, outputs, task));
        }

        return records;
    }

    private static string Prompt(Random random, bool tricky)
    {
        var sb = new StringBuilder("Question: ");
        int words = random.Next(8, 20);
        for (int w = 0; w < words; w++)
        {
            sb.Append(Filler[random.Next(Filler.Length)]).Append(' ');
        }

        if (tricky)
        {
            sb.Append("tricky ");
        }

        sb.Append("?\nOptions:\n");
        int options = random.Next(4, 11);
        for (int o = 0; o < options; o++)
        {
            sb.Append((char)('A' + o)).Append(". ").Append(Filler[random.Next(Filler.Length)]).Append('\n');
        }

        return sb.Append("Answer:").ToString();
    }
}
