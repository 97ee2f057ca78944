"""ferrompi's table of MPI-5.0 standard-ABI constants (ABI version 1.0).

Pure data, read by generate.py.  Every value here is a fact fixed by the MPI-5.0
standard (chapter "Application Binary Interface" and the "Defined Values and
Handles" annex).  Provenance / verification:

* taken from the MPI Forum's reference ABI header (github.com/mpi-forum/mpi-abi-stubs,
  mpi.h) and the standard text;
* cross-checked, value by value, against MPICH 5.0.2's standard-ABI header
  (`include/mpi_abi.h` in the `mpich==5.0.2` wheel) by tests/abi/check_header.sh.

Note: early revisions of the Forum stub header had different values for
MPI_ERRORS_RETURN/MPI_ERRORS_ABORT, MPI_COMBINER_F90_*, MPI_SEEK_* and
MPI_APPNUM/MPI_LASTUSEDCODE/MPI_UNIVERSE_SIZE; those were corrected upstream in
Oct 2025 (mpi-abi-stubs PR 72, mirrored by MPICH PR 7633).  We use the corrected
values, which are what MPICH 5.0.2 ships.
"""

VERSION = {
    "MPI_VERSION": 5,
    "MPI_SUBVERSION": 0,
    "MPI_ABI_VERSION": 1,
    "MPI_ABI_SUBVERSION": 0,
}

# ---------------------------------------------------------------------------
# Handle types.  (C type, struct tag, [(predefined handle, value), ...])
# In C every handle is a pointer to an incomplete struct; predefined handles are
# small integers (< 4096) cast to the handle type.  In Rust a handle is a
# #[repr(transparent)] newtype over usize.
# ---------------------------------------------------------------------------
HANDLES = [
    ("MPI_Op", "MPI_ABI_Op", [
        ("MPI_OP_NULL", 0x20),
        ("MPI_SUM", 0x21), ("MPI_MIN", 0x22), ("MPI_MAX", 0x23), ("MPI_PROD", 0x24),
        ("MPI_BAND", 0x28), ("MPI_BOR", 0x29), ("MPI_BXOR", 0x2A),
        ("MPI_LAND", 0x30), ("MPI_LOR", 0x31), ("MPI_LXOR", 0x32),
        ("MPI_MINLOC", 0x38), ("MPI_MAXLOC", 0x39),
        ("MPI_REPLACE", 0x3C), ("MPI_NO_OP", 0x3D),
    ]),
    ("MPI_Comm", "MPI_ABI_Comm", [
        ("MPI_COMM_NULL", 0x100), ("MPI_COMM_WORLD", 0x101), ("MPI_COMM_SELF", 0x102),
    ]),
    ("MPI_Group", "MPI_ABI_Group", [
        ("MPI_GROUP_NULL", 0x108), ("MPI_GROUP_EMPTY", 0x109),
    ]),
    ("MPI_Win", "MPI_ABI_Win", [("MPI_WIN_NULL", 0x110)]),
    ("MPI_File", "MPI_ABI_File", [("MPI_FILE_NULL", 0x118)]),
    ("MPI_Session", "MPI_ABI_Session", [("MPI_SESSION_NULL", 0x120)]),
    ("MPI_Message", "MPI_ABI_Message", [
        ("MPI_MESSAGE_NULL", 0x128), ("MPI_MESSAGE_NO_PROC", 0x129),
    ]),
    ("MPI_Info", "MPI_ABI_Info", [("MPI_INFO_NULL", 0x130), ("MPI_INFO_ENV", 0x131)]),
    ("MPI_Errhandler", "MPI_ABI_Errhandler", [
        ("MPI_ERRHANDLER_NULL", 0x140), ("MPI_ERRORS_ARE_FATAL", 0x141),
        ("MPI_ERRORS_ABORT", 0x142), ("MPI_ERRORS_RETURN", 0x143),
    ]),
    ("MPI_Request", "MPI_ABI_Request", [("MPI_REQUEST_NULL", 0x180)]),
    ("MPI_Datatype", "MPI_ABI_Datatype", [("MPI_DATATYPE_NULL", 0x200)]),
]

# Predefined datatypes (MPI_Datatype handles), grouped as in the standard.
# Fixed-size types encode their byte size in bits 3..5 of the handle.
DATATYPES = [
    ("Address-sized and special types", [
        ("MPI_AINT", 0x201), ("MPI_COUNT", 0x202), ("MPI_OFFSET", 0x203),
        ("MPI_PACKED", 0x207),
    ]),
    ("C integer types", [
        ("MPI_SHORT", 0x208), ("MPI_INT", 0x209), ("MPI_LONG", 0x20A),
        ("MPI_LONG_LONG", 0x20B), ("MPI_UNSIGNED_SHORT", 0x20C),
        ("MPI_UNSIGNED", 0x20D), ("MPI_UNSIGNED_LONG", 0x20E),
        ("MPI_UNSIGNED_LONG_LONG", 0x20F),
    ]),
    ("C floating-point and complex types", [
        ("MPI_FLOAT", 0x210), ("MPI_C_FLOAT_COMPLEX", 0x212),
        ("MPI_CXX_FLOAT_COMPLEX", 0x213), ("MPI_DOUBLE", 0x214),
        ("MPI_C_DOUBLE_COMPLEX", 0x216), ("MPI_CXX_DOUBLE_COMPLEX", 0x217),
    ]),
    ("Fortran types of default kind", [
        ("MPI_LOGICAL", 0x218), ("MPI_INTEGER", 0x219), ("MPI_REAL", 0x21A),
        ("MPI_COMPLEX", 0x21B), ("MPI_DOUBLE_PRECISION", 0x21C),
        ("MPI_DOUBLE_COMPLEX", 0x21D), ("MPI_CHARACTER", 0x21E),
    ]),
    ("long double types", [
        ("MPI_LONG_DOUBLE", 0x220), ("MPI_C_LONG_DOUBLE_COMPLEX", 0x224),
        ("MPI_CXX_LONG_DOUBLE_COMPLEX", 0x225),
    ]),
    ("Pair types for MPI_MINLOC/MPI_MAXLOC", [
        ("MPI_FLOAT_INT", 0x228), ("MPI_DOUBLE_INT", 0x229), ("MPI_LONG_INT", 0x22A),
        ("MPI_2INT", 0x22B), ("MPI_SHORT_INT", 0x22C), ("MPI_LONG_DOUBLE_INT", 0x22D),
        ("MPI_2REAL", 0x230), ("MPI_2DOUBLE_PRECISION", 0x231), ("MPI_2INTEGER", 0x232),
    ]),
    ("Boolean and character types", [
        ("MPI_C_BOOL", 0x238), ("MPI_CXX_BOOL", 0x239), ("MPI_WCHAR", 0x23C),
    ]),
    ("Fixed-size C types", [
        ("MPI_INT8_T", 0x240), ("MPI_UINT8_T", 0x241),
        ("MPI_CHAR", 0x243), ("MPI_SIGNED_CHAR", 0x244), ("MPI_UNSIGNED_CHAR", 0x245),
        ("MPI_BYTE", 0x247),
        ("MPI_INT16_T", 0x248), ("MPI_UINT16_T", 0x249),
        ("MPI_INT32_T", 0x250), ("MPI_UINT32_T", 0x251),
        ("MPI_INT64_T", 0x258), ("MPI_UINT64_T", 0x259),
    ]),
    ("Fixed-size Fortran types", [
        ("MPI_LOGICAL1", 0x2C0), ("MPI_INTEGER1", 0x2C1),
        ("MPI_LOGICAL2", 0x2C8), ("MPI_INTEGER2", 0x2C9), ("MPI_REAL2", 0x2CA),
        ("MPI_LOGICAL4", 0x2D0), ("MPI_INTEGER4", 0x2D1), ("MPI_REAL4", 0x2D2),
        ("MPI_COMPLEX4", 0x2D3),
        ("MPI_LOGICAL8", 0x2D8), ("MPI_INTEGER8", 0x2D9), ("MPI_REAL8", 0x2DA),
        ("MPI_COMPLEX8", 0x2DB),
        ("MPI_LOGICAL16", 0x2E0), ("MPI_INTEGER16", 0x2E1), ("MPI_REAL16", 0x2E2),
        ("MPI_COMPLEX16", 0x2E3),
        ("MPI_COMPLEX32", 0x2EB),
    ]),
]

# Datatype names that are synonyms of another predefined datatype.
DATATYPE_ALIASES = [
    ("MPI_LONG_LONG_INT", "MPI_LONG_LONG"),
    ("MPI_C_COMPLEX", "MPI_C_FLOAT_COMPLEX"),
]

# Error classes 0..62, in order: the value is the position in this list.
ERROR_CLASSES = [
    "MPI_SUCCESS",
    # MPI-1
    "MPI_ERR_BUFFER", "MPI_ERR_COUNT", "MPI_ERR_TYPE", "MPI_ERR_TAG", "MPI_ERR_COMM",
    "MPI_ERR_RANK", "MPI_ERR_REQUEST", "MPI_ERR_ROOT", "MPI_ERR_GROUP", "MPI_ERR_OP",
    "MPI_ERR_TOPOLOGY", "MPI_ERR_DIMS", "MPI_ERR_ARG", "MPI_ERR_UNKNOWN",
    "MPI_ERR_TRUNCATE", "MPI_ERR_OTHER", "MPI_ERR_INTERN", "MPI_ERR_PENDING",
    "MPI_ERR_IN_STATUS",
    # MPI-2
    "MPI_ERR_ACCESS", "MPI_ERR_AMODE", "MPI_ERR_ASSERT", "MPI_ERR_BAD_FILE",
    "MPI_ERR_BASE", "MPI_ERR_CONVERSION", "MPI_ERR_DISP", "MPI_ERR_DUP_DATAREP",
    "MPI_ERR_FILE_EXISTS", "MPI_ERR_FILE_IN_USE", "MPI_ERR_FILE", "MPI_ERR_INFO_KEY",
    "MPI_ERR_INFO_NOKEY", "MPI_ERR_INFO_VALUE", "MPI_ERR_INFO", "MPI_ERR_IO",
    "MPI_ERR_KEYVAL", "MPI_ERR_LOCKTYPE", "MPI_ERR_NAME", "MPI_ERR_NO_MEM",
    "MPI_ERR_NOT_SAME", "MPI_ERR_NO_SPACE", "MPI_ERR_NO_SUCH_FILE", "MPI_ERR_PORT",
    "MPI_ERR_QUOTA", "MPI_ERR_READ_ONLY", "MPI_ERR_RMA_ATTACH", "MPI_ERR_RMA_CONFLICT",
    "MPI_ERR_RMA_RANGE", "MPI_ERR_RMA_SHARED", "MPI_ERR_RMA_SYNC", "MPI_ERR_SERVICE",
    "MPI_ERR_SIZE", "MPI_ERR_SPAWN", "MPI_ERR_UNSUPPORTED_DATAREP",
    "MPI_ERR_UNSUPPORTED_OPERATION", "MPI_ERR_WIN",
    # MPI-3 .. MPI-5
    "MPI_ERR_RMA_FLAVOR", "MPI_ERR_PROC_ABORTED", "MPI_ERR_VALUE_TOO_LARGE",
    "MPI_ERR_SESSION", "MPI_ERR_ERRHANDLER", "MPI_ERR_ABI",
]

# Tool-interface error codes 1001..1018, in order.
T_ERROR_CODES = [
    "MPI_T_ERR_CANNOT_INIT", "MPI_T_ERR_NOT_ACCESSIBLE", "MPI_T_ERR_NOT_INITIALIZED",
    "MPI_T_ERR_NOT_SUPPORTED", "MPI_T_ERR_MEMORY", "MPI_T_ERR_INVALID",
    "MPI_T_ERR_INVALID_INDEX", "MPI_T_ERR_INVALID_ITEM", "MPI_T_ERR_INVALID_SESSION",
    "MPI_T_ERR_INVALID_HANDLE", "MPI_T_ERR_INVALID_NAME", "MPI_T_ERR_OUT_OF_HANDLES",
    "MPI_T_ERR_OUT_OF_SESSIONS", "MPI_T_ERR_CVAR_SET_NOT_NOW",
    "MPI_T_ERR_CVAR_SET_NEVER", "MPI_T_ERR_PVAR_NO_WRITE",
    "MPI_T_ERR_PVAR_NO_STARTSTOP", "MPI_T_ERR_PVAR_NO_ATOMIC",
]
T_ERROR_BASE = 1001
ERR_LASTCODE = 0x3FFF

# Plain `int` constants, grouped: (comment, [(name, value), ...]).
INT_CONSTANTS = [
    ("Error-code bound", [("MPI_ERR_LASTCODE", ERR_LASTCODE)]),
    ("Fortran status layout (MPI_F_STATUS_SIZE integers)", [
        ("MPI_F_STATUS_SIZE", 8), ("MPI_F_SOURCE", 0), ("MPI_F_TAG", 1), ("MPI_F_ERROR", 2),
    ]),
    ("Lengths of strings (including the terminating NUL)", [
        ("MPI_MAX_DATAREP_STRING", 128), ("MPI_MAX_ERROR_STRING", 512),
        ("MPI_MAX_INFO_KEY", 256), ("MPI_MAX_INFO_VAL", 1024),
        ("MPI_MAX_LIBRARY_VERSION_STRING", 8192), ("MPI_MAX_OBJECT_NAME", 128),
        ("MPI_MAX_PORT_NAME", 1024), ("MPI_MAX_PROCESSOR_NAME", 256),
        ("MPI_MAX_STRINGTAG_LEN", 1024), ("MPI_MAX_PSET_NAME_LEN", 1024),
    ]),
    ("Buffered-send overhead", [("MPI_BSEND_OVERHEAD", 512)]),
    ("File access modes (bit flags)", [
        ("MPI_MODE_APPEND", 1), ("MPI_MODE_CREATE", 2), ("MPI_MODE_DELETE_ON_CLOSE", 4),
        ("MPI_MODE_EXCL", 8), ("MPI_MODE_RDONLY", 16), ("MPI_MODE_RDWR", 32),
        ("MPI_MODE_SEQUENTIAL", 64), ("MPI_MODE_UNIQUE_OPEN", 128),
        ("MPI_MODE_WRONLY", 256),
    ]),
    ("RMA synchronisation assertions (bit flags)", [
        ("MPI_MODE_NOCHECK", 1024), ("MPI_MODE_NOPRECEDE", 2048),
        ("MPI_MODE_NOPUT", 4096), ("MPI_MODE_NOSTORE", 8192),
        ("MPI_MODE_NOSUCCEED", 16384),
    ]),
    ("Wildcards and rank sentinels (negative)", [
        ("MPI_ANY_SOURCE", -1), ("MPI_ANY_TAG", -2), ("MPI_PROC_NULL", -3),
        ("MPI_ROOT", -4), ("MPI_UNDEFINED", -32766),
    ]),
    ("Thread support levels (ordered)", [
        ("MPI_THREAD_SINGLE", 0), ("MPI_THREAD_FUNNELED", 1024),
        ("MPI_THREAD_SERIALIZED", 2048), ("MPI_THREAD_MULTIPLE", 4096),
    ]),
    ("Array orders and distributions", [
        ("MPI_ORDER_C", 12), ("MPI_ORDER_FORTRAN", 15),
        ("MPI_DISTRIBUTE_NONE", 16), ("MPI_DISTRIBUTE_BLOCK", 17),
        ("MPI_DISTRIBUTE_CYCLIC", 18), ("MPI_DISTRIBUTE_DFLT_DARG", 19),
    ]),
    ("Datatype combiners", [
        ("MPI_COMBINER_NAMED", 101), ("MPI_COMBINER_DUP", 102),
        ("MPI_COMBINER_CONTIGUOUS", 103), ("MPI_COMBINER_VECTOR", 104),
        ("MPI_COMBINER_HVECTOR", 105), ("MPI_COMBINER_INDEXED", 106),
        ("MPI_COMBINER_HINDEXED", 107), ("MPI_COMBINER_INDEXED_BLOCK", 108),
        ("MPI_COMBINER_HINDEXED_BLOCK", 109), ("MPI_COMBINER_STRUCT", 110),
        ("MPI_COMBINER_SUBARRAY", 111), ("MPI_COMBINER_DARRAY", 112),
        ("MPI_COMBINER_F90_REAL", 113), ("MPI_COMBINER_F90_COMPLEX", 114),
        ("MPI_COMBINER_F90_INTEGER", 115), ("MPI_COMBINER_RESIZED", 116),
        ("MPI_COMBINER_VALUE_INDEX", 117),
    ]),
    ("Type classes for MPI_Type_match_size", [
        ("MPI_TYPECLASS_INTEGER", 192), ("MPI_TYPECLASS_REAL", 193),
        ("MPI_TYPECLASS_COMPLEX", 194),
    ]),
    ("Results of communicator and group comparisons", [
        ("MPI_IDENT", 201), ("MPI_CONGRUENT", 202), ("MPI_SIMILAR", 203),
        ("MPI_UNEQUAL", 204),
    ]),
    ("Topology kinds", [("MPI_CART", 211), ("MPI_GRAPH", 212), ("MPI_DIST_GRAPH", 213)]),
    ("Split types for MPI_Comm_split_type", [
        ("MPI_COMM_TYPE_SHARED", 221), ("MPI_COMM_TYPE_HW_UNGUIDED", 222),
        ("MPI_COMM_TYPE_HW_GUIDED", 223), ("MPI_COMM_TYPE_RESOURCE_GUIDED", 224),
    ]),
    ("RMA lock types", [("MPI_LOCK_EXCLUSIVE", 301), ("MPI_LOCK_SHARED", 302)]),
    ("RMA window flavors", [
        ("MPI_WIN_FLAVOR_CREATE", 311), ("MPI_WIN_FLAVOR_ALLOCATE", 312),
        ("MPI_WIN_FLAVOR_DYNAMIC", 313), ("MPI_WIN_FLAVOR_SHARED", 314),
    ]),
    ("RMA memory models", [("MPI_WIN_UNIFIED", 321), ("MPI_WIN_SEPARATE", 322)]),
    ("File seek whence", [
        ("MPI_SEEK_CUR", 401), ("MPI_SEEK_END", 402), ("MPI_SEEK_SET", 403),
    ]),
    ("Invalid attribute key", [("MPI_KEYVAL_INVALID", 0)]),
    ("Predefined communicator attribute keys", [
        ("MPI_TAG_UB", 501), ("MPI_IO", 502), ("MPI_HOST", 503),
        ("MPI_WTIME_IS_GLOBAL", 504), ("MPI_APPNUM", 505),
        ("MPI_LASTUSEDCODE", 506), ("MPI_UNIVERSE_SIZE", 507),
    ]),
    ("Predefined window attribute keys", [
        ("MPI_WIN_BASE", 601), ("MPI_WIN_DISP_UNIT", 602), ("MPI_WIN_SIZE", 603),
        ("MPI_WIN_CREATE_FLAVOR", 604), ("MPI_WIN_MODEL", 605),
    ]),
    ("Tool interface: verbosity levels", [
        ("MPI_T_VERBOSITY_USER_BASIC", 0x09), ("MPI_T_VERBOSITY_USER_DETAIL", 0x0A),
        ("MPI_T_VERBOSITY_USER_ALL", 0x0C), ("MPI_T_VERBOSITY_TUNER_BASIC", 0x11),
        ("MPI_T_VERBOSITY_TUNER_DETAIL", 0x12), ("MPI_T_VERBOSITY_TUNER_ALL", 0x14),
        ("MPI_T_VERBOSITY_MPIDEV_BASIC", 0x21), ("MPI_T_VERBOSITY_MPIDEV_DETAIL", 0x22),
        ("MPI_T_VERBOSITY_MPIDEV_ALL", 0x24),
    ]),
    ("Tool interface: object bindings", [
        ("MPI_T_BIND_NO_OBJECT", 1), ("MPI_T_BIND_MPI_COMM", 2),
        ("MPI_T_BIND_MPI_DATATYPE", 3), ("MPI_T_BIND_MPI_ERRHANDLER", 4),
        ("MPI_T_BIND_MPI_FILE", 5), ("MPI_T_BIND_MPI_GROUP", 6),
        ("MPI_T_BIND_MPI_OP", 7), ("MPI_T_BIND_MPI_REQUEST", 8),
        ("MPI_T_BIND_MPI_WIN", 9), ("MPI_T_BIND_MPI_MESSAGE", 10),
        ("MPI_T_BIND_MPI_INFO", 11), ("MPI_T_BIND_MPI_SESSION", 12),
    ]),
    ("Tool interface: control-variable scopes", [
        ("MPI_T_SCOPE_CONSTANT", 1), ("MPI_T_SCOPE_READONLY", 2),
        ("MPI_T_SCOPE_LOCAL", 3), ("MPI_T_SCOPE_GROUP", 4),
        ("MPI_T_SCOPE_GROUP_EQ", 5), ("MPI_T_SCOPE_ALL", 6), ("MPI_T_SCOPE_ALL_EQ", 7),
    ]),
    ("Tool interface: performance-variable classes", [
        ("MPI_T_PVAR_CLASS_STATE", 1), ("MPI_T_PVAR_CLASS_LEVEL", 2),
        ("MPI_T_PVAR_CLASS_SIZE", 3), ("MPI_T_PVAR_CLASS_PERCENTAGE", 4),
        ("MPI_T_PVAR_CLASS_HIGHWATERMARK", 5), ("MPI_T_PVAR_CLASS_LOWWATERMARK", 6),
        ("MPI_T_PVAR_CLASS_COUNTER", 7), ("MPI_T_PVAR_CLASS_AGGREGATE", 8),
        ("MPI_T_PVAR_CLASS_TIMER", 9), ("MPI_T_PVAR_CLASS_GENERIC", 10),
    ]),
]

# Pointer-valued constants: (name, C pointee type spelled as in C, value).
POINTER_CONSTANTS = [
    ("Special buffer addresses", [
        ("MPI_BOTTOM", "void*", 0), ("MPI_IN_PLACE", "void*", 1),
        ("MPI_BUFFER_AUTOMATIC", "void*", 2),
    ]),
    ("Ignored / empty arguments", [
        ("MPI_ARGV_NULL", "char**", 0), ("MPI_ARGVS_NULL", "char***", 0),
        ("MPI_ERRCODES_IGNORE", "int*", 0),
        ("MPI_STATUS_IGNORE", "MPI_Status*", 0), ("MPI_STATUSES_IGNORE", "MPI_Status*", 0),
        ("MPI_UNWEIGHTED", "int*", 10), ("MPI_WEIGHTS_EMPTY", "int*", 11),
    ]),
]

# MPI_Offset-valued constants.
OFFSET_CONSTANTS = [("MPI_DISPLACEMENT_CURRENT", -1)]

# Predefined callback functions: (name, callback typedef, value).
# They are not real functions in the standard ABI: NULL_* are 0, DUP_* are 1.
CALLBACK_CONSTANTS = [
    ("MPI_NULL_COPY_FN", "MPI_Copy_function", 0),
    ("MPI_DUP_FN", "MPI_Copy_function", 1),
    ("MPI_NULL_DELETE_FN", "MPI_Delete_function", 0),
    ("MPI_COMM_NULL_COPY_FN", "MPI_Comm_copy_attr_function", 0),
    ("MPI_COMM_DUP_FN", "MPI_Comm_copy_attr_function", 1),
    ("MPI_COMM_NULL_DELETE_FN", "MPI_Comm_delete_attr_function", 0),
    ("MPI_TYPE_NULL_COPY_FN", "MPI_Type_copy_attr_function", 0),
    ("MPI_TYPE_DUP_FN", "MPI_Type_copy_attr_function", 1),
    ("MPI_TYPE_NULL_DELETE_FN", "MPI_Type_delete_attr_function", 0),
    ("MPI_WIN_NULL_COPY_FN", "MPI_Win_copy_attr_function", 0),
    ("MPI_WIN_DUP_FN", "MPI_Win_copy_attr_function", 1),
    ("MPI_WIN_NULL_DELETE_FN", "MPI_Win_delete_attr_function", 0),
    ("MPI_CONVERSION_FN_NULL", "MPI_Datarep_conversion_function", 0),
    ("MPI_CONVERSION_FN_NULL_C", "MPI_Datarep_conversion_function_c", 0),
]

# Deprecated alternative names of the error-handler callback types.
CALLBACK_ALIASES = [
    ("MPI_Comm_errhandler_fn", "MPI_Comm_errhandler_function"),
    ("MPI_File_errhandler_fn", "MPI_File_errhandler_function"),
    ("MPI_Win_errhandler_fn", "MPI_Win_errhandler_function"),
    ("MPI_Session_errhandler_fn", "MPI_Session_errhandler_function"),
]

# Tool-interface handle types: (C type, struct tag, [(predefined, value)]).
T_HANDLES = [
    ("MPI_T_enum", "MPI_T_enum_t", [("MPI_T_ENUM_NULL", 0)]),
    ("MPI_T_cvar_handle", "MPI_T_cvar_handle_t", [("MPI_T_CVAR_HANDLE_NULL", 0)]),
    ("MPI_T_pvar_handle", "MPI_T_pvar_handle_t", [
        ("MPI_T_PVAR_HANDLE_NULL", 0), ("MPI_T_PVAR_ALL_HANDLES", 1),
    ]),
    ("MPI_T_pvar_session", "MPI_T_pvar_session_t", [("MPI_T_PVAR_SESSION_NULL", 0)]),
    ("MPI_T_event_registration", "MPI_T_event_registration_t", []),
    ("MPI_T_event_instance", "MPI_T_event_instance_t", []),
]

# Tool-interface enumerated types (C `enum` types, int-sized).
T_ENUMS = [
    ("MPI_T_cb_safety", [
        ("MPI_T_CB_REQUIRE_NONE", 0x00), ("MPI_T_CB_REQUIRE_MPI_RESTRICTED", 0x03),
        ("MPI_T_CB_REQUIRE_THREAD_SAFE", 0x0F), ("MPI_T_CB_REQUIRE_ASYNC_SIGNAL_SAFE", 0x3F),
    ]),
    ("MPI_T_source_order", [
        ("MPI_T_SOURCE_ORDERED", 1), ("MPI_T_SOURCE_UNORDERED", 2),
    ]),
]
