using System.Runtime.CompilerServices;

namespace BiT.Distributed;

/// <summary>NCCL's <c>ncclUniqueId</c>: 128 opaque bytes (NCCL_UNIQUE_ID_BYTES), passed by value to ncclCommInitRank.</summary>
[InlineArray(Size)]
public struct NcclUniqueId
{
    public const int Size = 128;

    private byte first;
}
