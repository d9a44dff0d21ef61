namespace KubeEmulator.Api;

/// <summary>One cause of a 422 Invalid; Reason is the field.ErrorType name (FieldValueRequired, FieldValueInvalid, ...).</summary>
internal sealed record FieldError(string Reason, string Field, string Message)
{
    public static FieldError Required(string field, string? detail = null) => new("FieldValueRequired", field, "Required value" + (detail is null ? "" : ": " + detail));

    public static FieldError Invalid(string field, string value, string detail) => new("FieldValueInvalid", field, $"Invalid value: {value}: {detail}");

    public static FieldError NotSupported(string field, string value, IEnumerable<string> allowed) =>
        new("FieldValueNotSupported", field, $"Unsupported value: {value}: supported values: {string.Join(", ", allowed.Select(a => "\"" + a + "\""))}");

    public static FieldError TooLong(string field, int max) => new("FieldValueTooLong", field, $"Too long: may not be more than {max} bytes");

    public static FieldError TooMany(string field, int actual, int max) => new("FieldValueTooMany", field, $"Too many: {actual}: must have at most {max} items");

    public static FieldError TypeInvalid(string field, string value, string detail) => new("FieldValueTypeInvalid", field, $"Invalid value: {value}: {detail}");

    public static FieldError Forbidden(string field, string detail) => new("FieldValueForbidden", field, "Forbidden: " + detail);

    public override string ToString() => $"{Field}: {Message}";
}
