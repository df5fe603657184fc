using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Eccos.Scheduling.Simulation;

/// <summary>Options of a <see cref="SimulatedProvider"/>: where it listens and which models it simulates.</summary>
/// <remarks>
/// A plain mutable object, not thread-safe. <see cref="SimulatedProvider.StartAsync"/> validates and copies it (and each
/// <see cref="SimulatedModelOptions"/>), so changing it afterwards does not affect a running provider. The JSON form
/// read by <see cref="FromJson"/> is described in the project's README.md.
/// </remarks>
public sealed class SimulatedProviderOptions
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
        Converters = { new MillisecondsOrTimeSpanConverter() },
    };

    /// <summary>
    /// Gets the simulated models by name (ordinal, case-sensitive), the name being the <c>model</c> field of a request.
    /// At least one is needed.
    /// </summary>
    [JsonObjectCreationHandling(JsonObjectCreationHandling.Populate)]
    public IDictionary<string, SimulatedModelOptions> Models { get; } = new Dictionary<string, SimulatedModelOptions>(StringComparer.Ordinal);

    /// <summary>
    /// Gets or sets the URL Kestrel listens on, such as <c>http://127.0.0.1:5055</c>. <see langword="null"/> listens on
    /// 127.0.0.1 on a free port, read back once bound. Default: <see langword="null"/>.
    /// </summary>
    public string? Url { get; set; }

    /// <summary>
    /// Gets or sets the seed from which each model without its own <see cref="SimulatedModelOptions.Seed"/> derives its
    /// random numbers (with a stable hash of its name), so a run is repeatable. Default: 1.
    /// </summary>
    public int Seed { get; set; } = 1;

    /// <summary>
    /// Gets or sets the clock of latencies, stream pacing, rate windows and <c>created</c> timestamps; a fake one makes
    /// window tests exact. Default: <see cref="TimeProvider.System"/>. Not read from JSON.
    /// </summary>
    [JsonIgnore]
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Reads options from their JSON form (see README.md); unknown properties are errors.</summary>
    /// <param name="json">The JSON text.</param>
    /// <returns>The options (not yet validated: <see cref="SimulatedProvider.StartAsync"/> does that).</returns>
    /// <exception cref="JsonException">The text is not valid JSON of this shape.</exception>
    public static SimulatedProviderOptions FromJson(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        return JsonSerializer.Deserialize<SimulatedProviderOptions>(json, Json)
            ?? throw new JsonException("The options JSON is null.");
    }

    /// <summary>A copy of these options and of every model's, validated; throws naming the option that is wrong.</summary>
    internal SimulatedProviderOptions ValidatedCopy()
    {
        ArgumentNullException.ThrowIfNull(TimeProvider, nameof(TimeProvider));
        if (Models.Count == 0)
        {
            throw new ArgumentException("SimulatedProviderOptions.Models must name at least one model.", nameof(Models));
        }

        if (Url is not null && (!Uri.TryCreate(Url, UriKind.Absolute, out Uri? url) || url.Scheme != Uri.UriSchemeHttp))
        {
            throw new ArgumentException($"SimulatedProviderOptions.Url must be an absolute http URL; it is '{Url}'.", nameof(Url));
        }

        var copy = new SimulatedProviderOptions { Url = Url, Seed = Seed, TimeProvider = TimeProvider };
        foreach ((string name, SimulatedModelOptions model) in Models)
        {
            if (string.IsNullOrWhiteSpace(name))
            {
                throw new ArgumentException("SimulatedProviderOptions.Models has an empty model name.", nameof(Models));
            }

            if (model is null)
            {
                throw new ArgumentException($"SimulatedProviderOptions.Models['{name}'] is null.", nameof(Models));
            }

            model.Validate(name);
            copy.Models.Add(name, model.Clone());
        }

        return copy;
    }

    /// <summary>Reads a TimeSpan from a number of milliseconds or a constant-format string ("00:00:01.5").</summary>
    private sealed class MillisecondsOrTimeSpanConverter : JsonConverter<TimeSpan>
    {
        public override TimeSpan Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => reader.TokenType switch
        {
            JsonTokenType.Number => TimeSpan.FromMilliseconds(reader.GetDouble()),
            JsonTokenType.String when TimeSpan.TryParse(reader.GetString(), CultureInfo.InvariantCulture, out TimeSpan value) => value,
            _ => throw new JsonException("A duration is a number of milliseconds or a string such as \"00:00:01.5\"."),
        };

        public override void Write(Utf8JsonWriter writer, TimeSpan value, JsonSerializerOptions options) =>
            writer.WriteNumberValue(value.TotalMilliseconds);
    }
}
