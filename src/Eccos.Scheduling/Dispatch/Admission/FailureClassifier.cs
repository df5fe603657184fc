using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Reflection;

namespace Eccos.Scheduling;

/// <summary>What a failed call says about its model.</summary>
internal enum FailureKind
{
    /// <summary>The model failed (an error, a timeout, a broken answer): counts toward opening its circuit.</summary>
    Failure,

    /// <summary>The provider throttles (HTTP 429) or is overloaded (503): the model cools down; not a failure of the model.</summary>
    Throttled,
}

/// <summary>
/// Reads an exception for HTTP throttling: <see cref="HttpRequestException.StatusCode"/>, or a <c>Status</c> property
/// of an int (System.ClientModel's <c>ClientResultException</c>, which the OpenAI and Azure SDKs throw), with the
/// provider's <c>retry-after-ms</c> or <c>Retry-After</c> (seconds or an HTTP date) from the raw response's headers.
/// The exception and its inner exceptions are searched.
/// </summary>
/// <remarks>Thread-safe. Reflection over SDK types is cached per type, so the core needs no SDK reference.</remarks>
internal static class FailureClassifier
{
    private static readonly ConcurrentDictionary<Type, Shape> Shapes = new();

    public static (FailureKind Kind, int? Status, TimeSpan? RetryAfter) Classify(Exception error, DateTimeOffset now)
    {
        for (Exception? e = error; e is not null; e = e.InnerException)
        {
            int? status = null;
            TimeSpan? retryAfter = null;
            if (e is HttpRequestException http && http.StatusCode is { } code)
            {
                status = (int)code;
            }
            else if (Shapes.GetOrAdd(e.GetType(), Shape.Of) is { Status: not null } shape)
            {
                status = shape.Status.GetValue(e) as int?;
                retryAfter = shape.RetryAfter(e, now);
            }

            if (status is 429 or 503)
            {
                return (FailureKind.Throttled, status, retryAfter);
            }

            if (status is not null)
            {
                return (FailureKind.Failure, status, null);
            }
        }

        return (FailureKind.Failure, null, null);
    }

    /// <summary>Parses <c>retry-after-ms</c> (milliseconds) or <c>Retry-After</c> (seconds, or an HTTP date).</summary>
    public static TimeSpan? ParseRetryAfter(string? milliseconds, string? retryAfter, DateTimeOffset now)
    {
        if (double.TryParse(milliseconds, NumberStyles.Float, CultureInfo.InvariantCulture, out double ms) && ms >= 0)
        {
            return TimeSpan.FromMilliseconds(ms);
        }

        if (double.TryParse(retryAfter, NumberStyles.Float, CultureInfo.InvariantCulture, out double seconds) && seconds >= 0)
        {
            return TimeSpan.FromSeconds(seconds);
        }

        if (DateTimeOffset.TryParse(retryAfter, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out DateTimeOffset at))
        {
            return at > now ? at - now : TimeSpan.Zero;
        }

        return null;
    }

    /// <summary>How one exception type exposes a status and a raw response with headers (by reflection, cached).</summary>
    private sealed class Shape
    {
        public PropertyInfo? Status { get; private init; }

        private MethodInfo? RawResponse { get; init; }

        public static Shape Of(Type type)
        {
            PropertyInfo? status = type.GetProperty("Status", BindingFlags.Public | BindingFlags.Instance);
            return new Shape
            {
                Status = status?.PropertyType == typeof(int) ? status : null,
                RawResponse = type.GetMethod("GetRawResponse", BindingFlags.Public | BindingFlags.Instance, Type.EmptyTypes),
            };
        }

        public TimeSpan? RetryAfter(Exception e, DateTimeOffset now)
        {
            try
            {
                object? response = RawResponse?.Invoke(e, null);
                object? headers = response?.GetType().GetProperty("Headers")?.GetValue(response);
                MethodInfo? tryGet = headers?.GetType().GetMethod("TryGetValue", [typeof(string), typeof(string).MakeByRefType()]);
                if (headers is null || tryGet is null)
                {
                    return null;
                }

                return ParseRetryAfter(Header(headers, tryGet, "retry-after-ms"), Header(headers, tryGet, "Retry-After"), now);
            }
            catch (TargetInvocationException)
            {
                return null; // a response that cannot be read gives no hint: fall back to exponential cool-down
            }
        }

        private static string? Header(object headers, MethodInfo tryGet, string name)
        {
            object?[] args = [name, null];
            return tryGet.Invoke(headers, args) is true ? args[1] as string : null;
        }
    }
}
