namespace Eccos.Scheduling;

/// <summary>
/// Remembers which model holds which conversation: a bounded LRU map with sliding expiry on a
/// <see cref="TimeProvider"/>.
/// </summary>
/// <remarks>Thread-safe (one lock; every operation is O(1)).</remarks>
internal sealed class ConversationMap
{
    private readonly object _lock = new();
    private readonly Dictionary<string, LinkedListNode<Entry>> _map = new(StringComparer.Ordinal);
    private readonly LinkedList<Entry> _lru = new(); // most recently used first
    private readonly int _capacity;
    private readonly long _expiryTicks;
    private readonly TimeProvider _time;

    public ConversationMap(int capacity, TimeSpan expiry, TimeProvider time)
    {
        _capacity = capacity;
        _time = time;
        _expiryTicks = (long)(expiry.TotalSeconds * time.TimestampFrequency);
    }

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _map.Count;
            }
        }
    }

    /// <summary>Finds the model holding <paramref name="conversationId"/>, refreshing its expiry.</summary>
    public bool TryGet(string conversationId, out int model)
    {
        long now = _time.GetTimestamp();
        lock (_lock)
        {
            if (_map.TryGetValue(conversationId, out LinkedListNode<Entry>? node))
            {
                if (now - node.Value.LastUsed > _expiryTicks)
                {
                    _map.Remove(conversationId);
                    _lru.Remove(node);
                }
                else
                {
                    node.Value.LastUsed = now;
                    _lru.Remove(node);
                    _lru.AddFirst(node);
                    model = node.Value.Model;
                    return true;
                }
            }
        }

        model = -1;
        return false;
    }

    /// <summary>Records that <paramref name="model"/> holds <paramref name="conversationId"/>.</summary>
    public void Set(string conversationId, int model)
    {
        if (_capacity == 0)
        {
            return;
        }

        long now = _time.GetTimestamp();
        lock (_lock)
        {
            if (_map.TryGetValue(conversationId, out LinkedListNode<Entry>? node))
            {
                node.Value.Model = model;
                node.Value.LastUsed = now;
                _lru.Remove(node);
                _lru.AddFirst(node);
                return;
            }

            // Forget expired entries from the cold end, then the least recently used one if still full.
            while (_lru.Last is { } last && (now - last.Value.LastUsed > _expiryTicks || _map.Count >= _capacity))
            {
                _map.Remove(last.Value.Id);
                _lru.RemoveLast();
            }

            _map[conversationId] = _lru.AddFirst(new Entry(conversationId, model, now));
        }
    }

    private sealed class Entry(string id, int model, long lastUsed)
    {
        public string Id { get; } = id;

        public int Model { get; set; } = model;

        public long LastUsed { get; set; } = lastUsed;
    }
}
