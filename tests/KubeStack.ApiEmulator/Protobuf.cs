using System.Text;
using System.Text.Json.Nodes;

namespace KubeStack.ApiEmulator;

/// <summary>
/// Decodes the Kubernetes protobuf envelope (<c>k8s\0</c> + runtime.Unknown, https://kubernetes.io/docs/reference/using-api/api-concepts/#protobuf-encoding)
/// for the few built-in kinds kubectl's imperative generators send that way (<c>kubectl create namespace|configmap|secret</c>).
/// Field numbers are those of k8s.io/api/core/v1/generated.proto and apimachinery's meta/v1.
/// </summary>
internal static class Protobuf
{
    public const string ContentType = "application/vnd.kubernetes.protobuf";

    enum K { String, Bytes, Int64, Bool, Message, MapString, MapBytes, RepeatedString, RepeatedMessage, Time }

    sealed record F(string Name, K Kind, Dictionary<int, F>? Sub = null);

    static readonly Dictionary<int, F> TypeMeta = new() { [1] = new("apiVersion", K.String), [2] = new("kind", K.String) };

    static readonly Dictionary<int, F> OwnerReference = new()
    {
        [1] = new("kind", K.String),
        [3] = new("name", K.String),
        [4] = new("uid", K.String),
        [5] = new("apiVersion", K.String),
        [6] = new("controller", K.Bool),
        [7] = new("blockOwnerDeletion", K.Bool),
    };

    static readonly Dictionary<int, F> ObjectMeta = new()
    {
        [1] = new("name", K.String),
        [2] = new("generateName", K.String),
        [3] = new("namespace", K.String),
        [5] = new("uid", K.String),
        [6] = new("resourceVersion", K.String),
        [7] = new("generation", K.Int64),
        [8] = new("creationTimestamp", K.Time),
        [9] = new("deletionTimestamp", K.Time),
        [10] = new("deletionGracePeriodSeconds", K.Int64),
        [11] = new("labels", K.MapString),
        [12] = new("annotations", K.MapString),
        [13] = new("ownerReferences", K.RepeatedMessage, OwnerReference),
        [14] = new("finalizers", K.RepeatedString),
    };

    static readonly Dictionary<string, Dictionary<int, F>> Kinds = new(StringComparer.Ordinal)
    {
        ["Namespace"] = new()
        {
            [1] = new("metadata", K.Message, ObjectMeta),
            [2] = new("spec", K.Message, new() { [1] = new("finalizers", K.RepeatedString) }),
            [3] = new("status", K.Message, new() { [1] = new("phase", K.String) }),
        },
        ["ConfigMap"] = new()
        {
            [1] = new("metadata", K.Message, ObjectMeta),
            [2] = new("data", K.MapString),
            [3] = new("binaryData", K.MapBytes),
            [4] = new("immutable", K.Bool),
        },
        ["Secret"] = new()
        {
            [1] = new("metadata", K.Message, ObjectMeta),
            [2] = new("data", K.MapBytes),
            [3] = new("type", K.String),
            [4] = new("stringData", K.MapString),
            [5] = new("immutable", K.Bool),
        },
    };

    /// <summary>The JSON object of a protobuf-encoded request body; 415 for kinds it cannot decode.</summary>
    public static JsonObject Decode(byte[] body)
    {
        if (body.Length < 4 || body[0] != (byte)'k' || body[1] != (byte)'8' || body[2] != (byte)'s' || body[3] != 0)
            throw ApiError.BadRequest("protobuf body without the k8s\\0 envelope prefix");
        byte[]? raw = null;
        JsonObject? typeMeta = null;
        var r = new Reader(body, 4, body.Length);
        while (!r.End)
        {
            var (field, wire) = r.Tag();
            if (field == 1 && wire == 2) typeMeta = Message(r.Slice(), TypeMeta);
            else if (field == 2 && wire == 2) { var s = r.Slice(); raw = body[s.Pos..s.Limit]; }
            else r.Skip(wire);
        }
        var kind = Meta.Str(typeMeta?["kind"]) ?? "";
        if (raw is null || !Kinds.TryGetValue(kind, out var schema))
            throw ApiError.UnsupportedMediaType($"the emulator decodes protobuf only for {string.Join(", ", Kinds.Keys)} (got \"{kind}\"); send JSON or YAML");
        var obj = Message(new Reader(raw, 0, raw.Length), schema);
        var result = new JsonObject { ["apiVersion"] = Meta.Str(typeMeta?["apiVersion"]) ?? "v1", ["kind"] = kind };
        foreach (var (k, v) in obj.ToList()) { obj.Remove(k); result[k] = v; }
        return result;
    }

    static JsonObject Message(Reader r, Dictionary<int, F> schema)
    {
        var o = new JsonObject();
        while (!r.End)
        {
            var (field, wire) = r.Tag();
            if (!schema.TryGetValue(field, out var f)) { r.Skip(wire); continue; }
            switch (f.Kind)
            {
                case K.String:
                    {
                        var v = r.String();
                        if (v.Length > 0) o[f.Name] = v; // Go's omitempty: an empty string is an absent field
                        break;
                    }
                case K.Bytes: o[f.Name] = Convert.ToBase64String(r.Bytes()); break;
                case K.Int64: o[f.Name] = (long)r.Varint(); break;
                case K.Bool: o[f.Name] = r.Varint() != 0; break;
                case K.Message: o[f.Name] = Message(r.Slice(), f.Sub!); break;
                case K.RepeatedString: Array(o, f.Name).Add(r.String()); break;
                case K.RepeatedMessage: Array(o, f.Name).Add(Message(r.Slice(), f.Sub!)); break;
                case K.Time:
                    {
                        var t = r.Slice();
                        long seconds = 0;
                        while (!t.End)
                        {
                            var (tf, tw) = t.Tag();
                            if (tf == 1) seconds = (long)t.Varint(); else t.Skip(tw);
                        }
                        o[f.Name] = DateTimeOffset.FromUnixTimeSeconds(seconds).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture);
                        break;
                    }
                case K.MapString or K.MapBytes:
                    {
                        var entry = r.Slice();
                        string key = "", value = "";
                        while (!entry.End)
                        {
                            var (ef, ew) = entry.Tag();
                            if (ef == 1) key = entry.String();
                            else if (ef == 2) value = f.Kind == K.MapString ? entry.String() : Convert.ToBase64String(entry.Bytes());
                            else entry.Skip(ew);
                        }
                        if (o[f.Name] is not JsonObject map) o[f.Name] = map = new JsonObject();
                        map[key] = value;
                        break;
                    }
            }
        }
        return o;
    }

    static JsonArray Array(JsonObject o, string name)
    {
        if (o[name] is JsonArray a) return a;
        a = new JsonArray();
        o[name] = a;
        return a;
    }

    sealed class Reader(byte[] buf, int pos, int limit)
    {
        public int Pos = pos;
        public int Limit = limit;
        public bool End => Pos >= Limit;

        public ulong Varint()
        {
            ulong v = 0;
            for (int shift = 0; shift < 64; shift += 7)
            {
                if (Pos >= Limit) throw ApiError.BadRequest("truncated protobuf varint");
                var b = buf[Pos++];
                v |= (ulong)(b & 0x7f) << shift;
                if ((b & 0x80) == 0) return v;
            }
            throw ApiError.BadRequest("malformed protobuf varint");
        }

        public (int Field, int Wire) Tag()
        {
            var t = Varint();
            return ((int)(t >> 3), (int)(t & 7));
        }

        public Reader Slice()
        {
            var len = (int)Varint();
            if (len < 0 || Pos + len > Limit) throw ApiError.BadRequest("truncated protobuf field");
            var s = new Reader(buf, Pos, Pos + len);
            Pos += len;
            return s;
        }

        public byte[] Bytes()
        {
            var s = Slice();
            return buf[s.Pos..s.Limit];
        }

        public string String() => Encoding.UTF8.GetString(Bytes());

        public void Skip(int wire)
        {
            switch (wire)
            {
                case 0: Varint(); break;
                case 1: Pos += 8; break;
                case 2: Slice(); break;
                case 5: Pos += 4; break;
                default: throw ApiError.BadRequest($"unsupported protobuf wire type {wire}");
            }
        }
    }
}
