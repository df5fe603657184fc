using System.Text.Json;

namespace Eccos.Scheduling.Evaluation;

/// <summary>
/// The models of a dataset or a pool with their list prices: the <c>models.json</c> of the outcome log format.
/// </summary>
/// <remarks>Immutable; safe to share between threads.</remarks>
public sealed class ModelCatalog
{
    private readonly Dictionary<string, int> _index;

    /// <summary>Initializes a catalog from profiles.</summary>
    /// <param name="models">The models; names must be distinct.</param>
    /// <param name="currency">The currency of the prices.</param>
    /// <exception cref="ArgumentException">No models, or a name appears twice.</exception>
    public ModelCatalog(IEnumerable<ModelProfile> models, string currency = "USD")
    {
        ArgumentNullException.ThrowIfNull(models);
        var list = new List<ModelProfile>();
        _index = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (ModelProfile m in models)
        {
            ArgumentNullException.ThrowIfNull(m, nameof(models));
            if (!_index.TryAdd(m.Name, list.Count))
            {
                throw new ArgumentException($"Model '{m.Name}' appears more than once.", nameof(models));
            }

            list.Add(m);
        }

        if (list.Count == 0)
        {
            throw new ArgumentException("A catalog needs at least one model.", nameof(models));
        }

        Models = list;
        Currency = currency;
    }

    /// <summary>Gets the models, in catalog order.</summary>
    public IReadOnlyList<ModelProfile> Models { get; }

    /// <summary>Gets the currency of the prices (e.g. "USD").</summary>
    public string Currency { get; }

    /// <summary>Returns the index of the model named <paramref name="name"/>, or -1.</summary>
    /// <param name="name">The model name (ordinal).</param>
    /// <returns>The index in <see cref="Models"/>, or -1.</returns>
    public int IndexOf(string name) => _index.TryGetValue(name, out int i) ? i : -1;

    /// <summary>Returns the model named <paramref name="name"/>, or <see langword="null"/>.</summary>
    /// <param name="name">The model name (ordinal).</param>
    /// <returns>The profile, or <see langword="null"/>.</returns>
    public ModelProfile? Find(string name) => _index.TryGetValue(name, out int i) ? Models[i] : null;

    /// <summary>Loads a <c>models.json</c> file.</summary>
    /// <param name="path">The file.</param>
    /// <returns>The catalog.</returns>
    /// <exception cref="OutcomeLogFormatException">The file is malformed; the message names the field and the model.</exception>
    public static ModelCatalog Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using FileStream stream = File.OpenRead(path);
        return Load(stream, path);
    }

    /// <summary>Loads a catalog from a stream holding <c>models.json</c>.</summary>
    /// <param name="stream">The JSON.</param>
    /// <param name="sourceName">How to name the source in errors.</param>
    /// <returns>The catalog.</returns>
    /// <exception cref="OutcomeLogFormatException">The JSON is malformed; the message names the field and the model.</exception>
    public static ModelCatalog Load(Stream stream, string sourceName = "models.json")
    {
        ArgumentNullException.ThrowIfNull(stream);
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(stream, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        }
        catch (JsonException ex)
        {
            throw new OutcomeLogFormatException(sourceName, ex.LineNumber is { } l ? l + 1 : 0, null, $"not valid JSON ({ex.Message})", ex);
        }

        using (doc)
        {
            JsonElement root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("models", out JsonElement models) || models.ValueKind != JsonValueKind.Array)
            {
                throw new OutcomeLogFormatException(sourceName, 0, "models", "expected an object with a 'models' array");
            }

            string currency = root.TryGetProperty("currency", out JsonElement c) && c.ValueKind == JsonValueKind.String ? c.GetString()! : "USD";
            var list = new List<ModelProfile>();
            var seen = new HashSet<string>(StringComparer.Ordinal);
            int k = 0;
            foreach (JsonElement m in models.EnumerateArray())
            {
                string field = $"models[{k++}]";
                if (m.ValueKind != JsonValueKind.Object || !m.TryGetProperty("name", out JsonElement n) || n.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(n.GetString()))
                {
                    throw new OutcomeLogFormatException(sourceName, 0, field + ".name", "missing or not a non-empty string");
                }

                string name = n.GetString()!;
                if (!seen.Add(name))
                {
                    throw new OutcomeLogFormatException(sourceName, 0, field + ".name", $"model '{name}' appears more than once");
                }

                double input = Price(m, "input_price", field, name, sourceName);
                double output = Price(m, "output_price", field, name, sourceName);
                int? capacity = null;
                if (m.TryGetProperty("capacity", out JsonElement cap) && cap.ValueKind != JsonValueKind.Null)
                {
                    if (cap.ValueKind != JsonValueKind.Number || !cap.TryGetInt32(out int capValue) || capValue < 0)
                    {
                        throw new OutcomeLogFormatException(sourceName, 0, field + ".capacity", $"model '{name}': expected a non-negative integer");
                    }

                    capacity = capValue;
                }

                list.Add(new ModelProfile(name, input, output, capacity));
            }

            if (list.Count == 0)
            {
                throw new OutcomeLogFormatException(sourceName, 0, "models", "the catalog lists no models");
            }

            return new ModelCatalog(list, currency);
        }
    }

    private static double Price(JsonElement m, string property, string field, string name, string source)
    {
        if (!m.TryGetProperty(property, out JsonElement p) || p.ValueKind != JsonValueKind.Number || !p.TryGetDouble(out double v) || !double.IsFinite(v) || v < 0)
        {
            throw new OutcomeLogFormatException(source, 0, $"{field}.{property}", $"model '{name}': expected a finite, non-negative number");
        }

        return v;
    }
}
