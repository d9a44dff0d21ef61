using System.Text.Json.Serialization;
using BiT.Contracts.Crds;

namespace BiT.Contracts.Api;

/// <summary>On-disk dataset formats the trainer reads.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<DatasetFormat>))]
[Field("ImageFolder (one folder per class, JPEG/PNG), Idx (MNIST/Fashion-MNIST, gzip or raw) or CifarBinary (CIFAR-10/100).")]
public enum DatasetFormat
{
    /// <summary>train/CLASS/*.jpg|png and test/CLASS/*.</summary>
    ImageFolder,

    /// <summary>MNIST/Fashion-MNIST IDX files, gzip or raw.</summary>
    Idx,

    /// <summary>CIFAR-10/100 binary batches.</summary>
    CifarBinary,
}

/// <summary>The training and test data.</summary>
[Field("Training and test data. Immutable once the job exists.")]
[CelRule("!has(self.classes) || size(self.classes) == self.numClasses", "numClasses must equal the number of labels in classes")]
public sealed record DatasetSpec
{
    /// <summary>Format of the files under <see cref="Path"/>.</summary>
    [Field("Format of the files under path.", Required = true)]
    public DatasetFormat? Format { get; init; }

    /// <summary>Folder with train/ and test/ splits.</summary>
    [Field("Folder holding the train and test splits; relative paths resolve against the manifest's folder.", Required = true, MinLength = 1, MaxLength = 4096)]
    public string Path { get; init; } = "";

    /// <summary>Claim mounted read-only at <see cref="Path"/> in the cluster.</summary>
    [Field("PersistentVolumeClaim mounted read-only at path in the cluster.")]
    public VolumeClaimReference? Volume { get; init; }

    /// <summary>Number of classes of the head.</summary>
    [Field("Number of classes (the size of the new head).", Required = true, Minimum = 2, Maximum = 100_000)]
    public int NumClasses { get; init; }

    /// <summary>Optional label subset: only these labels are used, relabelled 0..n-1 in this order.</summary>
    [Field("Optional: use only these labels of the data (train and test), relabelled 0..n-1 in the order given; numClasses must equal their count. Lets one dataset serve an upstream and a downstream task.",
        MinItems = 2, MaxItems = 10_000, Minimum = 0)]
    public IReadOnlyList<int>? Classes { get; init; }

    /// <summary>Training examples; measured from the data when omitted.</summary>
    [Field("Training examples (before few-shot subsetting); measured from the data when omitted.", Minimum = 1, Maximum = 1_000_000_000_000)]
    public long? TrainExamples { get; init; }

    /// <summary>Original image size; measured from the data when omitted.</summary>
    [Field("Size of the original images; measured from the data when omitted.")]
    public ImageSize? ImageSize { get; init; }

    /// <summary>k examples per class drawn with a fixed seed.</summary>
    [Field("Train on k examples per class drawn with a fixed seed; the HyperRule schedule follows the subset's size.")]
    public FewShotSpec? FewShot { get; init; }
}

/// <summary>Height and width of the original images.</summary>
[Field("Height and width of the original images in pixels.")]
public sealed record ImageSize
{
    /// <summary>Pixels.</summary>
    [Field("Height in pixels.", Required = true, Minimum = 1, Maximum = 1_000_000)]
    public int Height { get; init; }

    /// <summary>Pixels.</summary>
    [Field("Width in pixels.", Required = true, Minimum = 1, Maximum = 1_000_000)]
    public int Width { get; init; }
}

/// <summary>Few-shot subsetting.</summary>
[Field("Few-shot subset of the training split.")]
public sealed record FewShotSpec
{
    /// <summary>k.</summary>
    [Field("Examples per class (k).", Required = true, Minimum = 1, Maximum = 1_000_000)]
    public int ExamplesPerClass { get; init; }

    /// <summary>Seed of the draw.</summary>
    [Field("Seed of the draw (default 0).", Minimum = 0, Maximum = 4_294_967_295)]
    public long? Seed { get; init; }
}

/// <summary>An existing PersistentVolumeClaim.</summary>
[Field("An existing PersistentVolumeClaim in the job's namespace.")]
public sealed record VolumeClaimReference
{
    /// <summary>Claim name.</summary>
    [Field("Name of the claim.", Required = true, Pattern = ApiPatterns.DnsSubdomain, PatternHint = "a DNS-1123 subdomain", MaxLength = 253)]
    public string ClaimName { get; init; } = "";
}
