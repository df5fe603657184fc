using System.Globalization;

namespace Eccos.Scheduling.Quickstart;

/// <summary>A topic of the simulated workload: its vocabulary and how long answers to it run.</summary>
internal sealed record Topic(string Name, string[] Words, double AnswerTokens);

/// <summary>
/// A simulated model: list prices, capacity (calls at once), skill overall and per topic, verbosity and speed.
/// </summary>
internal sealed record SimulatedModel(
    string Name,
    double InputPrice,
    double OutputPrice,
    int Capacity,
    double Skill,
    IReadOnlyDictionary<string, double> TopicBonus,
    double Verbosity,
    double FirstTokenMs,
    double MsPerToken,
    double FailureRate)
{
    public ModelProfile Profile => new(Name, InputPrice, OutputPrice, Capacity);
}

/// <summary>One simulated query: its text, topic, hidden difficulty and answer key.</summary>
internal sealed record SimulatedQuery(string Id, string Text, Topic Topic, double Difficulty, char Key)
{
    public int InputTokens => Math.Max(1, Text.Length / 4);
}

/// <summary>
/// The simulated world: a workload of multiple-choice questions over six topics and five models from cheap and weak to
/// expensive and strong, each with its own strengths. Whether a model answers a question correctly, and how long its
/// answer is, is a deterministic function of (question, model), so every policy is judged on the same ground truth.
/// </summary>
internal sealed class SimulatedWorld
{
    private static readonly Topic[] Topics =
    [
        new("math", ["equation", "integral", "derivative", "prime", "matrix", "probability", "polynomial", "geometry", "limit", "vector"], 180),
        new("code", ["function", "compiler", "recursion", "pointer", "thread", "algorithm", "complexity", "closure", "exception", "database"], 220),
        new("history", ["empire", "treaty", "revolution", "dynasty", "war", "colonial", "medieval", "republic", "monarch", "reform"], 120),
        new("biology", ["cell", "enzyme", "protein", "gene", "mitosis", "organism", "membrane", "evolution", "neuron", "photosynthesis"], 130),
        new("law", ["contract", "tort", "statute", "liability", "jurisdiction", "plaintiff", "appeal", "constitution", "negligence", "precedent"], 160),
        new("trivia", ["capital", "river", "mountain", "festival", "sport", "painter", "novel", "island", "language", "currency"], 60),
    ];

    private static readonly string[] Levels = ["basic", "standard", "tricky", "advanced", "expert"];

    private readonly Dictionary<string, SimulatedQuery> _byText = new(StringComparer.Ordinal);

    public SimulatedWorld()
    {
        Models =
        [
            Model("nano", 0.05, 0.20, capacity: 16, skill: 0.30, verbosity: 0.8, firstTokenMs: 150, msPerToken: 4, ("trivia", 0.25), ("history", 0.05)),
            Model("small", 0.15, 0.60, capacity: 12, skill: 0.45, verbosity: 0.9, firstTokenMs: 200, msPerToken: 6, ("code", 0.20), ("trivia", 0.15)),
            Model("medium", 0.60, 2.40, capacity: 8, skill: 0.58, verbosity: 1.0, firstTokenMs: 300, msPerToken: 9, ("math", 0.15), ("biology", 0.10)),
            Model("large", 2.50, 10.0, capacity: 6, skill: 0.72, verbosity: 1.1, firstTokenMs: 450, msPerToken: 14, ("law", 0.12), ("history", 0.10)) with { FailureRate = 0.03 },
            Model("frontier", 10.0, 30.0, capacity: 4, skill: 0.85, verbosity: 1.3, firstTokenMs: 700, msPerToken: 20, ("math", 0.05), ("code", 0.05)),
        ];
    }

    /// <summary>Gets the simulated models, cheapest first.</summary>
    public IReadOnlyList<SimulatedModel> Models { get; }

    /// <summary>Real time is this many times faster than the simulated models' latency.</summary>
    public double TimeScale { get; init; } = 100;

    /// <summary>Makes <paramref name="count"/> questions; the same seed gives the same questions.</summary>
    public IReadOnlyList<SimulatedQuery> Questions(string prefix, int count, int seed)
    {
        var random = new Random(seed);
        var questions = new SimulatedQuery[count];
        for (int i = 0; i < count; i++)
        {
            Topic topic = Topics[random.Next(Topics.Length)];
            double difficulty = random.NextDouble();
            string level = Levels[Math.Min(Levels.Length - 1, (int)(difficulty * Levels.Length))];
            var words = Enumerable.Range(0, 4).Select(_ => topic.Words[random.Next(topic.Words.Length)]);
            string id = prefix + i.ToString(CultureInfo.InvariantCulture);
            string text = string.Create(CultureInfo.InvariantCulture,
                $"[{id}] A {level} {topic.Name} question about {string.Join(", ", words)}: which option is right? A) ... B) ... C) ... D) ...");
            var question = new SimulatedQuery(id, text, topic, difficulty, "ABCD"[random.Next(4)]);
            questions[i] = question;
            _byText[text] = question;
        }

        return questions;
    }

    public SimulatedQuery Find(string text) =>
        _byText.TryGetValue(text, out SimulatedQuery? q) ? q : throw new InvalidOperationException("The simulated world does not know this question.");

    /// <summary>Whether <paramref name="model"/> answers <paramref name="query"/> correctly (deterministic).</summary>
    public static bool Correct(SimulatedQuery query, SimulatedModel model)
    {
        double bonus = model.TopicBonus.TryGetValue(query.Topic.Name, out double b) ? b : 0;
        double p = 1 / (1 + Math.Exp(-7 * (model.Skill + bonus + 0.25 - query.Difficulty)));
        return Draw(query, model, 1) < p;
    }

    /// <summary>The length of <paramref name="model"/>'s answer to <paramref name="query"/> in tokens (deterministic).</summary>
    public static int OutputTokens(SimulatedQuery query, SimulatedModel model) =>
        (int)Math.Max(5, query.Topic.AnswerTokens * model.Verbosity * (0.5 + Draw(query, model, 2)) * (0.8 + (0.6 * query.Difficulty)));

    /// <summary>Whether this call fails transiently (an HTTP 503), drawn afresh per call.</summary>
    public static bool Fails(SimulatedModel model) => model.FailureRate > 0 && Random.Shared.NextDouble() < model.FailureRate;

    /// <summary>The answer letter <paramref name="model"/> gives.</summary>
    public static char Answer(SimulatedQuery query, SimulatedModel model) =>
        Correct(query, model) ? query.Key : "ABCD"[("ABCD".IndexOf(query.Key, StringComparison.Ordinal) + 1 + (int)(Draw(query, model, 3) * 3)) % 4];

    /// <summary>What one past query looked like on every model: the synthetic history the predictor starts from.</summary>
    public OutcomeRecord Record(SimulatedQuery query) =>
        new(query.Id, query.Text, query.InputTokens,
            [.. Models.Select(m => new ModelOutcome(m.Name, Correct(query, m) ? 1 : 0, OutputTokens(query, m)))],
            query.Topic.Name);

    private static SimulatedModel Model(string name, double input, double output, int capacity, double skill, double verbosity, double firstTokenMs, double msPerToken, params (string Topic, double Bonus)[] bonus) =>
        new(name, input, output, capacity, skill, bonus.ToDictionary(b => b.Topic, b => b.Bonus), verbosity, firstTokenMs, msPerToken, 0);

    private static double Draw(SimulatedQuery query, SimulatedModel model, int salt)
    {
        // A stable hash of (question, model, salt) → [0, 1): the same question always gets the same outcome.
        ulong h = 14695981039346656037UL;
        foreach (char c in query.Id + "|" + model.Name + "|" + salt.ToString(CultureInfo.InvariantCulture))
        {
            h = (h ^ c) * 1099511628211UL;
        }

        h ^= h >> 33;
        h *= 0xff51afd7ed558ccdUL;
        h ^= h >> 33;
        return (h >> 11) * (1.0 / (1UL << 53));
    }
}
