using System.Collections.Concurrent;
using System.Reflection;
using System.Text.Json.Serialization;
using BiT.Contracts.Crds;

namespace BiT.Contracts.Api;

/// <summary>One serialized property of an API type: its JSON name, property and schema facts.</summary>
internal sealed record ApiField(string Name, PropertyInfo Property, FieldAttribute? Field)
{
    public Type Type => Property.PropertyType;

    public bool Required => Field?.Required ?? false;
}

/// <summary>The serialized properties of the API types, in a stable order (base class first, then declaration).</summary>
internal static class ApiFields
{
    private static readonly ConcurrentDictionary<Type, IReadOnlyList<ApiField>> Cache = new();

    public static IReadOnlyList<ApiField> Of(Type type) => Cache.GetOrAdd(type, Build);

    /// <summary>T for Nullable&lt;T&gt;, else the type.</summary>
    public static Type Unwrap(Type type) => Nullable.GetUnderlyingType(type) ?? type;

    /// <summary>The element type of IReadOnlyList&lt;T&gt; (or a List/array), else null.</summary>
    public static Type? ListElement(Type type)
    {
        if (type.IsArray)
        {
            return type.GetElementType();
        }

        if (type.IsGenericType)
        {
            var def = type.GetGenericTypeDefinition();
            if (def == typeof(IReadOnlyList<>) || def == typeof(List<>) || def == typeof(IList<>) || def == typeof(IEnumerable<>))
            {
                return type.GetGenericArguments()[0];
            }
        }

        return null;
    }

    /// <summary>True for IReadOnlyDictionary&lt;string, string&gt; and friends.</summary>
    public static bool IsStringMap(Type type) =>
        type.IsGenericType
        && (type.GetGenericTypeDefinition() == typeof(IReadOnlyDictionary<,>) || type.GetGenericTypeDefinition() == typeof(Dictionary<,>))
        && type.GetGenericArguments()[0] == typeof(string) && type.GetGenericArguments()[1] == typeof(string);

    /// <summary>True for the API's object types (records with serialized properties).</summary>
    public static bool IsObject(Type type) =>
        type.IsClass && type != typeof(string) && ListElement(type) is null && !IsStringMap(type);

    private static List<ApiField> Build(Type type)
    {
        var chain = new List<Type>();
        for (var t = type; t is not null && t != typeof(object); t = t.BaseType)
        {
            chain.Insert(0, t);
        }

        var fields = new List<ApiField>();
        foreach (var t in chain)
        {
            // Every property the serializer writes, named as it names them: BiTJson's camelCase policy is the one
            // naming convention of the API types (an explicit [JsonPropertyName] would still win, as it does there).
            var declared = t.GetProperties(BindingFlags.Public | BindingFlags.Instance | BindingFlags.DeclaredOnly)
                .Where(p => p.GetIndexParameters().Length == 0 && p.GetCustomAttribute<JsonIgnoreAttribute>() is null)
                .OrderBy(p => p.MetadataToken);
            foreach (var p in declared)
            {
                var name = p.GetCustomAttribute<JsonPropertyNameAttribute>()?.Name ?? BiTJson.Options.PropertyNamingPolicy!.ConvertName(p.Name);
                fields.Add(new ApiField(name, p, p.GetCustomAttribute<FieldAttribute>()));
            }
        }

        return fields;
    }
}
