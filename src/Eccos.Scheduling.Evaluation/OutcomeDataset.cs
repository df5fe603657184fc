namespace Eccos.Scheduling.Evaluation;

/// <summary>
/// A recorded dataset: a folder with <c>outcomes.jsonl</c> (the outcome log) and <c>models.json</c> (the catalog),
/// loaded into memory and checked against each other.
/// </summary>
/// <remarks>Immutable once loaded; safe to share between threads.</remarks>
public sealed class OutcomeDataset
{
    /// <summary>The name of the outcome log file in a dataset folder.</summary>
    public const string OutcomesFileName = "outcomes.jsonl";

    /// <summary>The name of the model catalog file in a dataset folder.</summary>
    public const string ModelsFileName = "models.json";

    /// <summary>Initializes a dataset from records already in memory.</summary>
    /// <param name="name">The dataset's name.</param>
    /// <param name="catalog">The models and prices.</param>
    /// <param name="records">The records; every output must name a model of <paramref name="catalog"/>.</param>
    /// <exception cref="ArgumentException">An output names a model the catalog lacks, or ids repeat.</exception>
    public OutcomeDataset(string name, ModelCatalog catalog, IReadOnlyList<OutcomeRecord> records)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(records);
        var ids = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < records.Count; i++)
        {
            OutcomeRecord r = records[i];
            if (!ids.Add(r.Id))
            {
                throw new ArgumentException($"Record {i}: id '{r.Id}' appears more than once.", nameof(records));
            }

            foreach (ModelOutcome o in r.Outputs)
            {
                if (catalog.IndexOf(o.Model) < 0)
                {
                    throw new ArgumentException($"Record {i} (id '{r.Id}'): model '{o.Model}' is not in the catalog.", nameof(records));
                }
            }
        }

        Name = name;
        Catalog = catalog;
        Records = records;
    }

    /// <summary>Gets the dataset's name (its folder name when loaded from disk).</summary>
    public string Name { get; }

    /// <summary>Gets the models and their prices.</summary>
    public ModelCatalog Catalog { get; }

    /// <summary>Gets every record, in file order.</summary>
    public IReadOnlyList<OutcomeRecord> Records { get; }

    /// <summary>Gets a value indicating whether every record carries a fixed split.</summary>
    public bool HasFixedSplit => Records.Count > 0 && Records.All(r => r.Split is not null);

    /// <summary>Loads the dataset in <paramref name="directory"/>.</summary>
    /// <param name="directory">A folder with <c>outcomes.jsonl</c> and <c>models.json</c>.</param>
    /// <param name="cancellationToken">Cancels loading.</param>
    /// <returns>The dataset.</returns>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="FileNotFoundException">One of the two files is missing.</exception>
    /// <exception cref="OutcomeLogFormatException">A file is malformed, an id repeats, or an output names a model that <c>models.json</c> lacks (file, line, field).</exception>
    public static async Task<OutcomeDataset> LoadAsync(string directory, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        if (!Directory.Exists(directory))
        {
            throw new DirectoryNotFoundException($"Dataset folder '{directory}' does not exist.");
        }

        string modelsPath = Path.Combine(directory, ModelsFileName);
        string outcomesPath = Path.Combine(directory, OutcomesFileName);
        if (!File.Exists(modelsPath))
        {
            throw new FileNotFoundException($"Dataset folder '{directory}' has no {ModelsFileName}.", modelsPath);
        }

        if (!File.Exists(outcomesPath))
        {
            throw new FileNotFoundException($"Dataset folder '{directory}' has no {OutcomesFileName}.", outcomesPath);
        }

        ModelCatalog catalog = ModelCatalog.Load(modelsPath);
        var records = new List<OutcomeRecord>();
        var ids = new Dictionary<string, long>(StringComparer.Ordinal);
        long line = 0;
        using var reader = new StreamReader(outcomesPath);
        while (await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } text)
        {
            line++;
            if (string.IsNullOrWhiteSpace(text))
            {
                continue;
            }

            OutcomeRecord r = OutcomeLog.ParseLine(text, outcomesPath, line);
            if (!ids.TryAdd(r.Id, line))
            {
                throw new OutcomeLogFormatException(outcomesPath, line, "id", $"'{r.Id}' already appeared on line {ids[r.Id]}");
            }

            for (int k = 0; k < r.Outputs.Count; k++)
            {
                if (catalog.IndexOf(r.Outputs[k].Model) < 0)
                {
                    throw new OutcomeLogFormatException(outcomesPath, line, $"outputs[{k}].model", $"model '{r.Outputs[k].Model}' is not in {ModelsFileName}");
                }
            }

            records.Add(r);
        }

        return new OutcomeDataset(new DirectoryInfo(directory).Name, catalog, records);
    }

    /// <summary>
    /// Splits the records into train and test: by each record's fixed <c>split</c> when every record has one,
    /// otherwise by a seeded random draw of <paramref name="trainFraction"/> of the records (stable for a seed).
    /// </summary>
    /// <param name="seed">Seed of the random split (ignored for a fixed split).</param>
    /// <param name="trainFraction">Share of records for training in a random split, in (0, 1).</param>
    /// <returns>The train and test records, each in file order.</returns>
    public (IReadOnlyList<OutcomeRecord> Train, IReadOnlyList<OutcomeRecord> Test) Split(int seed = 0, double trainFraction = 0.7)
    {
        if (!(trainFraction > 0 && trainFraction < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(trainFraction), trainFraction, "The train fraction must lie strictly between 0 and 1.");
        }

        var train = new List<OutcomeRecord>();
        var test = new List<OutcomeRecord>();
        if (HasFixedSplit)
        {
            foreach (OutcomeRecord r in Records)
            {
                (r.Split == "train" ? train : test).Add(r);
            }

            return (train, test);
        }

        int n = Records.Count;
        int[] order = Enumerable.Range(0, n).ToArray();
        new Random(seed).Shuffle(order);
        int cut = (int)Math.Round(n * trainFraction);
        var isTrain = new bool[n];
        for (int k = 0; k < cut; k++)
        {
            isTrain[order[k]] = true;
        }

        for (int i = 0; i < n; i++)
        {
            (isTrain[i] ? train : test).Add(Records[i]);
        }

        return (train, test);
    }
}
