using System.Globalization;
using System.Text.Json.Nodes;
using KubeEmulator.Api;

namespace KubeEmulator.Admission;

/// <summary>
/// x-kubernetes-validations: evaluates each rule on its schema node's value (self, and oldSelf for transition
/// rules on update) with <see cref="CelExpression"/>, a subset of CEL (see docs/emulator.md). A rule that fails
/// gives a 422 cause on the node's path (plus fieldPath); a rule that cannot be evaluated is reported the same way.
/// </summary>
internal static class CelRules
{
    public static void Validate(JsonNode? value, JsonNode? old, bool hasOld, JsonObject? schema, string path, List<FieldError> errors)
    {
        if (schema is null || value is null)
        {
            return;
        }
        if (schema["x-kubernetes-validations"] is JsonArray rules)
        {
            foreach (var rule in rules.OfType<JsonObject>())
            {
                var text = Json.Str(rule, "rule") ?? "";
                var usesOld = text.Contains("oldSelf", StringComparison.Ordinal);
                if (usesOld && !hasOld && !(Json.At(rule, "optionalOldSelf") is JsonValue oo && oo.GetValue<bool>()))
                {
                    continue;
                }
                var field = path;
                if (Json.Str(rule, "fieldPath") is { Length: > 0 } fp)
                {
                    field = (path.Length == 0 ? "" : path) + (fp.StartsWith('.') ? fp : "." + fp);
                    field = field.TrimStart('.');
                }
                var display = field.Length == 0 ? "<root>" : field;
                string? failure;
                try
                {
                    var vars = new Dictionary<string, object?>(StringComparer.Ordinal) { ["self"] = CelExpression.FromJson(value) };
                    if (hasOld)
                    {
                        vars["oldSelf"] = CelExpression.FromJson(old);
                    }
                    var result = CelExpression.Evaluate(text, vars);
                    failure = result is true ? null : Json.Str(rule, "message") ?? $"failed rule: {text}";
                }
                catch (CelException e)
                {
                    failure = $"{e.Message} evaluating rule: {text}";
                }
                if (failure is not null)
                {
                    var shown = value is JsonObject ? "\"object\"" : value is JsonArray ? "\"array\"" : value.ToJsonString();
                    errors.Add((Json.Str(rule, "reason") ?? "FieldValueInvalid") switch
                    {
                        "FieldValueForbidden" => FieldError.Forbidden(display, failure),
                        "FieldValueRequired" => FieldError.Required(display, failure),
                        "FieldValueDuplicate" => new FieldError("FieldValueDuplicate", display, $"Duplicate value: {shown}: {failure}"),
                        _ => FieldError.Invalid(display, shown, failure),
                    });
                }
            }
        }
        switch (value)
        {
            case JsonObject o:
                var props = schema["properties"] as JsonObject;
                var additional = schema["additionalProperties"] as JsonObject;
                foreach (var (k, v) in o)
                {
                    var childSchema = props?[k] as JsonObject ?? additional;
                    if (childSchema is null || path.Length == 0 && k is "metadata" or "apiVersion" or "kind")
                    {
                        continue;
                    }
                    var oldChild = old is JsonObject oo2 && oo2.TryGetPropertyValue(k, out var oc) ? oc : null;
                    Validate(v, oldChild, hasOld && old is JsonObject oo3 && oo3.ContainsKey(k), childSchema, path.Length == 0 ? k : $"{path}.{k}", errors);
                }
                break;
            case JsonArray a when schema["items"] is JsonObject items:
                for (var i = 0; i < a.Count; i++)
                {
                    // Transition rules inside lists would need list-type correlation; only self is checked there.
                    Validate(a[i], null, false, items, $"{path}[{i}]", errors);
                }
                break;
        }
    }
}

internal sealed class CelException(string message) : Exception(message);

/// <summary>
/// A small CEL interpreter: literals, self/oldSelf field access, has(), size(), ternary, ! &amp;&amp; || == != &lt; &lt;= &gt; &gt;= in,
/// + - * / %, lists, and the string/list methods startsWith, endsWith, contains, matches, size, all, exists.
/// Values: null, bool, long, double, string, List, Dictionary (from JSON).
/// </summary>
internal sealed class CelExpression
{
    private readonly string _s;
    private int _p;
    private readonly Dictionary<string, object?> _vars;

    private CelExpression(string s, Dictionary<string, object?> vars)
    {
        _s = s;
        _vars = vars;
    }

    public static object? Evaluate(string expression, Dictionary<string, object?> vars)
    {
        var e = new CelExpression(expression, vars);
        var v = e.Ternary(true);
        e.Ws();
        if (e._p != e._s.Length)
        {
            throw new CelException($"syntax error at {e._p}");
        }
        return v;
    }

    public static object? FromJson(JsonNode? n) => n switch
    {
        null => null,
        JsonObject o => o.ToDictionary(kv => kv.Key, kv => FromJson(kv.Value), StringComparer.Ordinal),
        JsonArray a => a.Select(FromJson).ToList(),
        JsonValue v when v.TryGetValue<string>(out var s) => s,
        JsonValue v when v.TryGetValue<bool>(out var b) => b,
        JsonValue v when Json.Double(v) is { } d => d == Math.Floor(d) && !v.ToJsonString().Contains('.', StringComparison.Ordinal) ? (object)(long)d : d,
        _ => null,
    };

    // Parsing and evaluation happen in one pass; "eval" false parses a branch without evaluating it (short-circuit).
    private object? Ternary(bool eval)
    {
        var c = Or(eval);
        Ws();
        if (Eat("?"))
        {
            var cond = eval && AsBool(c);
            var a = Ternary(eval && cond);
            Expect(":");
            var b = Ternary(eval && !cond);
            return eval ? (cond ? a : b) : null;
        }
        return c;
    }

    private object? Or(bool eval)
    {
        var l = And(eval);
        while (EatOp("||"))
        {
            var lv = eval && AsBool(l);
            var r = And(eval && !lv);
            l = eval ? lv || AsBool(r) : null;
        }
        return l;
    }

    private object? And(bool eval)
    {
        var l = Equality(eval);
        while (EatOp("&&"))
        {
            var lv = !eval || AsBool(l);
            var r = Equality(eval && lv);
            l = eval ? lv && AsBool(r) : null;
        }
        return l;
    }

    private object? Equality(bool eval)
    {
        var l = Relation(eval);
        while (true)
        {
            if (EatOp("=="))
            {
                var r = Relation(eval);
                l = eval ? ValueEquals(l, r) : null;
            }
            else if (EatOp("!="))
            {
                var r = Relation(eval);
                l = eval ? !ValueEquals(l, r) : null;
            }
            else
            {
                return l;
            }
        }
    }

    private object? Relation(bool eval)
    {
        var l = Additive(eval);
        while (true)
        {
            string? op = EatOp("<=") ? "<=" : EatOp(">=") ? ">=" : EatOp("<") ? "<" : EatOp(">") ? ">" : EatWord("in") ? "in" : null;
            if (op is null)
            {
                return l;
            }
            var r = Additive(eval);
            if (!eval)
            {
                continue;
            }
            l = op switch
            {
                "in" => r switch
                {
                    List<object?> list => list.Any(x => ValueEquals(x, l)),
                    Dictionary<string, object?> map => l is string k && map.ContainsKey(k),
                    _ => throw new CelException("'in' needs a list or map"),
                },
                _ => Compare(l, r) is var c && op switch { "<" => c < 0, "<=" => c <= 0, ">" => c > 0, _ => c >= 0 },
            };
        }
    }

    private object? Additive(bool eval)
    {
        var l = Multiplicative(eval);
        while (true)
        {
            Ws();
            if (Peek('+') || Peek('-') && !PeekAt(1, '-'))
            {
                var op = _s[_p++];
                var r = Multiplicative(eval);
                if (eval)
                {
                    l = op == '+' ? Add(l, r) : Arith(l, r, (a, b) => a - b, (a, b) => a - b);
                }
            }
            else
            {
                return l;
            }
        }
    }

    private object? Multiplicative(bool eval)
    {
        var l = Unary(eval);
        while (true)
        {
            Ws();
            if (Peek('*') || Peek('/') || Peek('%'))
            {
                var op = _s[_p++];
                var r = Unary(eval);
                if (eval)
                {
                    l = op switch
                    {
                        '*' => Arith(l, r, (a, b) => a * b, (a, b) => a * b),
                        '/' => Arith(l, r, (a, b) => b == 0 ? throw new CelException("division by zero") : a / b, (a, b) => a / b),
                        _ => Arith(l, r, (a, b) => b == 0 ? throw new CelException("modulus by zero") : a % b, (a, b) => a % b),
                    };
                }
            }
            else
            {
                return l;
            }
        }
    }

    private object? Unary(bool eval)
    {
        Ws();
        if (Eat("!"))
        {
            var v = Unary(eval);
            return eval ? !AsBool(v) : null;
        }
        if (Peek('-'))
        {
            _p++;
            var v = Unary(eval);
            return !eval ? null : v switch { long l => -l, double d => -d, _ => throw new CelException("unary - needs a number") };
        }
        return Member(eval);
    }

    private object? Member(bool eval)
    {
        Ws();
        object? v;
        if (PeekWord("has") && PeekAfterWord('('))
        {
            _p += 3;
            Expect("(");
            v = Has(eval);
            Expect(")");
        }
        else
        {
            v = Primary(eval);
        }
        while (true)
        {
            Ws();
            if (Eat("."))
            {
                var name = Ident();
                Ws();
                if (Peek('('))
                {
                    v = Method(v, name, eval);
                }
                else if (eval)
                {
                    v = v is Dictionary<string, object?> m ? (m.TryGetValue(name, out var f) ? f : throw new CelException($"no such key: {name}")) : throw new CelException($"no such key: {name}");
                }
            }
            else if (Eat("["))
            {
                var idx = Ternary(eval);
                Expect("]");
                if (eval)
                {
                    v = (v, idx) switch
                    {
                        (List<object?> l, long i) when i >= 0 && i < l.Count => l[(int)i],
                        (Dictionary<string, object?> m, string k) when m.TryGetValue(k, out var x) => x,
                        _ => throw new CelException("index out of range or no such key"),
                    };
                }
            }
            else
            {
                return v;
            }
        }
    }

    /// <summary>has(a.b.c): true when the last field is present (earlier ones must exist).</summary>
    private object? Has(bool eval)
    {
        Ws();
        var root = Ident();
        var path = new List<string>();
        while (Eat("."))
        {
            path.Add(Ident());
        }
        if (!eval)
        {
            return null;
        }
        if (path.Count == 0)
        {
            throw new CelException("has() needs a field selection");
        }
        if (!_vars.TryGetValue(root, out var v))
        {
            throw new CelException($"undeclared reference to '{root}'");
        }
        for (var i = 0; i < path.Count - 1; i++)
        {
            v = v is Dictionary<string, object?> m && m.TryGetValue(path[i], out var f) ? f : throw new CelException($"no such key: {path[i]}");
        }
        return v is Dictionary<string, object?> last && last.ContainsKey(path[^1]);
    }

    private object? Method(object? target, string name, bool eval)
    {
        Expect("(");
        if (name is "all" or "exists" or "exists_one" or "map" or "filter")
        {
            Ws();
            var variable = Ident();
            Expect(",");
            var start = _p;
            var items = eval ? target switch
            {
                List<object?> l => l,
                Dictionary<string, object?> m => m.Keys.Cast<object?>().ToList(),
                _ => throw new CelException($"{name}() needs a list or map"),
            } : [];
            object? result = name switch { "all" => true, "exists" => false, "exists_one" => 0L, _ => new List<object?>() };
            if (!eval || items.Count == 0)
            {
                Ternary(false);
            }
            foreach (var item in items)
            {
                _p = start;
                _vars[variable] = item;
                var r = Ternary(true);
                switch (name)
                {
                    case "all":
                        result = (bool)result! && AsBool(r);
                        break;
                    case "exists":
                        result = (bool)result! || AsBool(r);
                        break;
                    case "exists_one":
                        result = (long)result! + (AsBool(r) ? 1 : 0);
                        break;
                    case "map":
                        ((List<object?>)result!).Add(r);
                        break;
                    default:
                        if (AsBool(r))
                        {
                            ((List<object?>)result!).Add(item);
                        }
                        break;
                }
            }
            _vars.Remove(variable);
            Expect(")");
            return !eval ? null : name == "exists_one" ? (long)result! == 1 : result;
        }
        var args = Arguments(eval);
        if (!eval)
        {
            return null;
        }
        return (name, target) switch
        {
            ("size", _) => Size(target),
            ("startsWith", string s) => s.StartsWith(Str(args), StringComparison.Ordinal),
            ("endsWith", string s) => s.EndsWith(Str(args), StringComparison.Ordinal),
            ("contains", string s) => s.Contains(Str(args), StringComparison.Ordinal),
            ("matches", string s) => System.Text.RegularExpressions.Regex.IsMatch(s, Str(args), System.Text.RegularExpressions.RegexOptions.None, TimeSpan.FromSeconds(1)),
            ("lowerAscii", string s) => s.ToLowerInvariant(),
            ("upperAscii", string s) => s.ToUpperInvariant(),
            _ => throw new CelException($"unsupported method {name}"),
        };
    }

    private static string Str(List<object?> args) => args.Count == 1 && args[0] is string s ? s : throw new CelException("expected one string argument");

    private object? Primary(bool eval)
    {
        Ws();
        if (Eat("("))
        {
            var v = Ternary(eval);
            Expect(")");
            return v;
        }
        if (Eat("["))
        {
            var list = new List<object?>();
            Ws();
            if (!Peek(']'))
            {
                do
                {
                    list.Add(Ternary(eval));
                }
                while (Eat(","));
            }
            Expect("]");
            return list;
        }
        if (Peek('\'') || Peek('"'))
        {
            var q = _s[_p++];
            var start = _p;
            var sb = new System.Text.StringBuilder();
            while (_p < _s.Length && _s[_p] != q)
            {
                if (_s[_p] == '\\' && _p + 1 < _s.Length)
                {
                    _p++;
                }
                sb.Append(_s[_p++]);
            }
            if (_p >= _s.Length)
            {
                throw new CelException($"unterminated string at {start}");
            }
            _p++;
            return sb.ToString();
        }
        if (_p < _s.Length && char.IsAsciiDigit(_s[_p]))
        {
            var start = _p;
            while (_p < _s.Length && (char.IsAsciiDigit(_s[_p]) || _s[_p] is '.' or 'e' or 'E'))
            {
                _p++;
            }
            var text = _s[start.._p];
            if (_p < _s.Length && _s[_p] is 'u')
            {
                _p++;
            }
            return text.Contains('.', StringComparison.Ordinal) || text.Contains('e', StringComparison.OrdinalIgnoreCase)
                ? double.Parse(text, CultureInfo.InvariantCulture)
                : long.Parse(text, CultureInfo.InvariantCulture);
        }
        var id = Ident();
        switch (id)
        {
            case "true":
                return true;
            case "false":
                return false;
            case "null":
                return null;
        }
        Ws();
        if (Peek('('))
        {
            Expect("(");
            var args = Arguments(eval);
            if (!eval)
            {
                return null;
            }
            return (id, args.Count) switch
            {
                ("size", 1) => Size(args[0]),
                ("int", 1) => args[0] switch { long l => l, double d => (long)d, string s when long.TryParse(s, CultureInfo.InvariantCulture, out var l2) => l2, _ => throw new CelException("int() conversion failed") },
                ("double", 1) => args[0] switch { long l => (double)l, double d => d, string s when double.TryParse(s, CultureInfo.InvariantCulture, out var d2) => d2, _ => throw new CelException("double() conversion failed") },
                ("string", 1) => args[0] switch { string s => s, long l => l.ToString(CultureInfo.InvariantCulture), double d => d.ToString(CultureInfo.InvariantCulture), bool b => b ? "true" : "false", _ => throw new CelException("string() conversion failed") },
                _ => throw new CelException($"unsupported function {id}"),
            };
        }
        if (!eval)
        {
            return null;
        }
        return _vars.TryGetValue(id, out var value) ? value : throw new CelException($"undeclared reference to '{id}'");
    }

    private static long Size(object? v) => v switch
    {
        string s => s.Length,
        List<object?> l => l.Count,
        Dictionary<string, object?> m => m.Count,
        _ => throw new CelException("size() needs a string, list or map"),
    };

    private static object Add(object? a, object? b) => (a, b) switch
    {
        (string x, string y) => x + y,
        (List<object?> x, List<object?> y) => x.Concat(y).ToList(),
        _ => Arith(a, b, (x, y) => x + y, (x, y) => x + y),
    };

    private static object Arith(object? a, object? b, Func<long, long, long> li, Func<double, double, double> d) => (a, b) switch
    {
        (long x, long y) => li(x, y),
        (long x, double y) => d(x, y),
        (double x, long y) => d(x, y),
        (double x, double y) => d(x, y),
        _ => throw new CelException($"no such overload for arithmetic on {Type(a)} and {Type(b)}"),
    };

    private static int Compare(object? a, object? b) => (a, b) switch
    {
        (long x, long y) => x.CompareTo(y),
        (long x, double y) => ((double)x).CompareTo(y),
        (double x, long y) => x.CompareTo(y),
        (double x, double y) => x.CompareTo(y),
        (string x, string y) => string.CompareOrdinal(x, y),
        _ => throw new CelException($"no such overload for comparing {Type(a)} and {Type(b)}"),
    };

    private static bool ValueEquals(object? a, object? b) => (a, b) switch
    {
        (null, null) => true,
        (long x, double y) => x == y,
        (double x, long y) => x == y,
        (List<object?> x, List<object?> y) => x.Count == y.Count && x.Zip(y).All(p => ValueEquals(p.First, p.Second)),
        (Dictionary<string, object?> x, Dictionary<string, object?> y) => x.Count == y.Count && x.All(kv => y.TryGetValue(kv.Key, out var v) && ValueEquals(kv.Value, v)),
        _ => Equals(a, b),
    };

    private static bool AsBool(object? v) => v is bool b ? b : throw new CelException($"expected bool, got {Type(v)}");

    private static string Type(object? v) => v switch
    {
        null => "null",
        bool => "bool",
        long => "int",
        double => "double",
        string => "string",
        List<object?> => "list",
        _ => "map",
    };

    private void Ws()
    {
        while (_p < _s.Length && char.IsWhiteSpace(_s[_p]))
        {
            _p++;
        }
    }

    private bool Peek(char c) => _p < _s.Length && _s[_p] == c;

    private bool PeekAt(int offset, char c) => _p + offset < _s.Length && _s[_p + offset] == c;

    private bool Eat(string token)
    {
        Ws();
        if (string.CompareOrdinal(_s, _p, token, 0, token.Length) == 0)
        {
            _p += token.Length;
            return true;
        }
        return false;
    }

    private bool EatOp(string op)
    {
        Ws();
        if (string.CompareOrdinal(_s, _p, op, 0, op.Length) != 0)
        {
            return false;
        }
        // "<" must not eat the start of "<=", "!" not "!=", and so on.
        if (op is "<" or ">" && PeekAt(1, '='))
        {
            return false;
        }
        _p += op.Length;
        return true;
    }

    private bool PeekWord(string word) =>
        string.CompareOrdinal(_s, _p, word, 0, word.Length) == 0 && (_p + word.Length >= _s.Length || !IsIdent(_s[_p + word.Length]));

    private bool PeekAfterWord(char c)
    {
        var i = _p + 3;
        while (i < _s.Length && char.IsWhiteSpace(_s[i]))
        {
            i++;
        }
        return i < _s.Length && _s[i] == c;
    }

    private bool EatWord(string word)
    {
        Ws();
        if (PeekWord(word))
        {
            _p += word.Length;
            return true;
        }
        return false;
    }

    private static bool IsIdent(char c) => char.IsAsciiLetterOrDigit(c) || c == '_';

    private string Ident()
    {
        Ws();
        var start = _p;
        while (_p < _s.Length && IsIdent(_s[_p]))
        {
            _p++;
        }
        if (start == _p)
        {
            throw new CelException($"syntax error: expected an identifier at {start}");
        }
        return _s[start.._p];
    }

    private void Expect(string token)
    {
        if (!Eat(token))
        {
            throw new CelException($"syntax error: expected '{token}' at {_p}");
        }
    }

    // The comma-separated arguments of a call, after its "(", through the closing ")".
    private List<object?> Arguments(bool eval)
    {
        var args = new List<object?>();
        Ws();
        if (!Peek(')'))
        {
            do
            {
                args.Add(Ternary(eval));
            }
            while (Eat(","));
        }

        Expect(")");
        return args;
    }
}
