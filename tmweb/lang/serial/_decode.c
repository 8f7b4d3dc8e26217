/* tmweb.lang.serial._decode: the optional C decoder of format 2's msgpack (format2_read.py).
 *
 * One function, decode(data, pos, ext_hook, list_hook, root_list), reads exactly one msgpack
 * object from data[pos:] and returns it; bytes left over, a truncated or malformed object, a
 * map (format 2 writes none), or arrays nested more than 1024 deep raise ValueError,
 * which the reader turns into corrupt-data. It gives what msgpack's Unpacker gives with
 * raw=False, max_map_len=0, timestamp=1 and the same hooks: arrays go through list_hook
 * when they end (the vector type set by set_vector_type is built without a Python call),
 * extension values through ext_hook(code, data), msgpack's timestamp extension becomes a
 * float. With root_list true the outermost array stays a list.
 *
 * Why: msgpack's Unpacker costs four Python-level calls per read and one Python __init__ per
 * vector; for a small continuation those calls, not the decoding, were most of the time.
 * Arrays are read with an explicit stack, never by C recursion, so a hook that decodes a
 * nested payload adds one small C frame per level of extension, not per array.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

#define MAX_LEVELS 1024 /* open arrays at once: msgpack's own limit */
#define INLINE_LEVELS 32 /* on the C stack; deeper data moves the stack to the heap */

typedef struct {
    PyObject *list;
    Py_ssize_t n, i;
} Level;

static PyTypeObject *vector_type = NULL; /* built directly: items = the list, n = its length */
static PyObject *s_items = NULL, *s_n = NULL, *s_frames = NULL, *s_resumable = NULL;

static int
fail(const char *msg)
{
    PyErr_SetString(PyExc_ValueError, msg);
    return -1;
}

static inline uint16_t
be16(const unsigned char *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}

static inline uint32_t
be32(const unsigned char *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static inline uint64_t
be64(const unsigned char *p)
{
    return ((uint64_t)be32(p) << 32) | be32(p + 4);
}

/* The finished array `list` (a new reference, consumed) as its value. */
static PyObject *
finish_array(PyObject *list, PyObject *list_hook, int keep_list)
{
    if (keep_list || list_hook == Py_None)
        return list;
    if (list_hook == (PyObject *)vector_type && vector_type != NULL) {
        PyObject *v = vector_type->tp_alloc(vector_type, 0);
        PyObject *n = v ? PyLong_FromSsize_t(PyList_GET_SIZE(list)) : NULL;
        if (n == NULL || PyObject_SetAttr(v, s_items, list) < 0 || PyObject_SetAttr(v, s_n, n) < 0) {
            Py_XDECREF(n);
            Py_XDECREF(v);
            Py_DECREF(list);
            return NULL;
        }
        Py_DECREF(n);
        Py_DECREF(list);
        return v;
    }
    PyObject *v = PyObject_CallOneArg(list_hook, list);
    Py_DECREF(list);
    return v;
}

/* msgpack's timestamp extension as seconds since the epoch (msgpack's Timestamp.to_unix). */
static PyObject *
timestamp(const unsigned char *p, Py_ssize_t len)
{
    int64_t sec;
    uint32_t ns;
    if (len == 4) {
        sec = be32(p);
        ns = 0;
    } else if (len == 8) {
        uint64_t d = be64(p);
        sec = (int64_t)(d & 0x3ffffffffULL);
        ns = (uint32_t)(d >> 34);
    } else if (len == 12) {
        ns = be32(p);
        sec = (int64_t)be64(p + 4);
    } else {
        fail("timestamp of a wrong length");
        return NULL;
    }
    if (ns > 999999999) {
        fail("timestamp with too many nanoseconds");
        return NULL;
    }
    return PyFloat_FromDouble((double)sec + (double)ns / 1e9);
}

static PyObject *
ext_value(PyObject *ext_hook, int code, const unsigned char *p, Py_ssize_t len)
{
    if (code == -1)
        return timestamp(p, len);
    PyObject *data = PyBytes_FromStringAndSize((const char *)p, len);
    if (data == NULL)
        return NULL;
    PyObject *c = PyLong_FromLong(code);
    if (c == NULL) {
        Py_DECREF(data);
        return NULL;
    }
    PyObject *args[2] = {c, data};
    PyObject *v = PyObject_Vectorcall(ext_hook, args, 2, NULL);
    Py_DECREF(c);
    Py_DECREF(data);
    return v;
}

static PyObject *
decode(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 5)
        return PyErr_Format(PyExc_TypeError, "decode() takes 5 arguments (%zd given)", nargs);
    PyObject *data = args[0], *ext_hook = args[2], *list_hook = args[3];
    if (!PyBytes_Check(data))
        return PyErr_Format(PyExc_TypeError, "decode() needs bytes");
    Py_ssize_t start = PyLong_AsSsize_t(args[1]);
    if (start == -1 && PyErr_Occurred()) {
        if (!PyErr_ExceptionMatches(PyExc_OverflowError))
            return NULL;
        PyErr_Clear();
        start = -1; /* out of range below */
    }
    int root_list = PyObject_IsTrue(args[4]);
    if (root_list < 0)
        return NULL;
    const unsigned char *buf = (const unsigned char *)PyBytes_AS_STRING(data);
    const Py_ssize_t end = PyBytes_GET_SIZE(data);
    if (start < 0 || start > end) {
        PyErr_SetString(PyExc_ValueError, "decode() start out of range");
        return NULL;
    }
    const unsigned char *p = buf + start, *const e = buf + end;
    Level inline_stack[INLINE_LEVELS], *stack = inline_stack;
    int top = 0;
    PyObject *obj;

#define NEED(k)                                                   \
    do {                                                          \
        if ((Py_ssize_t)(e - p) < (Py_ssize_t)(k)) {              \
            fail("truncated data");                               \
            goto error;                                           \
        }                                                         \
    } while (0)

    for (;;) {
        Py_ssize_t len = 0, count = -1;
        int code = 0;
        NEED(1);
        unsigned char b = *p++;
        if (b <= 0x7f) {
            obj = PyLong_FromLong(b);
        } else if (b >= 0xe0) {
            obj = PyLong_FromLong((signed char)b);
        } else if (b >= 0xa0 && b <= 0xbf) {
            len = b & 0x1f;
            goto str;
        } else if (b >= 0x90 && b <= 0x9f) {
            count = b & 0x0f;
        } else {
            switch (b) {
            case 0xc0: obj = Py_NewRef(Py_None); break;
            case 0xc2: obj = Py_NewRef(Py_False); break;
            case 0xc3: obj = Py_NewRef(Py_True); break;
            case 0xc4: NEED(1); len = p[0]; p += 1; goto bin;
            case 0xc5: NEED(2); len = be16(p); p += 2; goto bin;
            case 0xc6: NEED(4); len = be32(p); p += 4; goto bin;
            case 0xc7: NEED(2); len = p[0]; code = (signed char)p[1]; p += 2; goto ext;
            case 0xc8: NEED(3); len = be16(p); code = (signed char)p[2]; p += 3; goto ext;
            case 0xc9: NEED(5); len = be32(p); code = (signed char)p[4]; p += 5; goto ext;
            case 0xca: {
                NEED(4);
                double d = PyFloat_Unpack4((const char *)p, 0);
                if (d == -1.0 && PyErr_Occurred())
                    goto error;
                p += 4;
                obj = PyFloat_FromDouble(d);
                break;
            }
            case 0xcb: {
                NEED(8);
                double d = PyFloat_Unpack8((const char *)p, 0);
                if (d == -1.0 && PyErr_Occurred())
                    goto error;
                p += 8;
                obj = PyFloat_FromDouble(d);
                break;
            }
            case 0xcc: NEED(1); obj = PyLong_FromLong(p[0]); p += 1; break;
            case 0xcd: NEED(2); obj = PyLong_FromLong(be16(p)); p += 2; break;
            case 0xce: NEED(4); obj = PyLong_FromUnsignedLong(be32(p)); p += 4; break;
            case 0xcf: NEED(8); obj = PyLong_FromUnsignedLongLong(be64(p)); p += 8; break;
            case 0xd0: NEED(1); obj = PyLong_FromLong((int8_t)p[0]); p += 1; break;
            case 0xd1: NEED(2); obj = PyLong_FromLong((int16_t)be16(p)); p += 2; break;
            case 0xd2: NEED(4); obj = PyLong_FromLong((int32_t)be32(p)); p += 4; break;
            case 0xd3: NEED(8); obj = PyLong_FromLongLong((int64_t)be64(p)); p += 8; break;
            case 0xd4: len = 1; goto fixext;
            case 0xd5: len = 2; goto fixext;
            case 0xd6: len = 4; goto fixext;
            case 0xd7: len = 8; goto fixext;
            case 0xd8: len = 16; goto fixext;
            case 0xd9: NEED(1); len = p[0]; p += 1; goto str;
            case 0xda: NEED(2); len = be16(p); p += 2; goto str;
            case 0xdb: NEED(4); len = be32(p); p += 4; goto str;
            case 0xdc: NEED(2); count = be16(p); p += 2; break;
            case 0xdd: NEED(4); count = be32(p); p += 4; break;
            case 0x80: case 0x81: case 0x82: case 0x83: case 0x84: case 0x85: case 0x86:
            case 0x87: case 0x88: case 0x89: case 0x8a: case 0x8b: case 0x8c: case 0x8d:
            case 0x8e: case 0x8f: case 0xde: case 0xdf:
                fail("a map (format 2 writes none)");
                goto error;
            default: /* 0xc1, never used */
                fail("reserved byte 0xc1");
                goto error;
            }
            goto have_obj;
        fixext:
            NEED(1);
            code = (signed char)p[0];
            p += 1;
        ext:
            NEED(len);
            obj = ext_value(ext_hook, code, p, len);
            p += len;
            goto have_obj;
        bin:
            NEED(len);
            obj = PyBytes_FromStringAndSize((const char *)p, len);
            p += len;
            goto have_obj;
        }
        goto have_obj;
    str:
        NEED(len);
        obj = PyUnicode_DecodeUTF8((const char *)p, len, NULL);
        p += len;
    have_obj:
        if (count >= 0) { /* an array header */
            if (count > e - p) {
                fail("an array longer than its data");
                goto error;
            }
            if (top == MAX_LEVELS) { /* msgpack counts every array, empty ones too */
                fail("arrays nested too deeply");
                goto error;
            }
            PyObject *list = PyList_New(count);
            if (list == NULL)
                goto error;
            if (count > 0) {
                if (top == INLINE_LEVELS && stack == inline_stack) {
                    stack = PyMem_New(Level, MAX_LEVELS);
                    if (stack == NULL) {
                        stack = inline_stack;
                        Py_DECREF(list);
                        PyErr_NoMemory();
                        goto error;
                    }
                    memcpy(stack, inline_stack, sizeof inline_stack);
                }
                stack[top].list = list;
                stack[top].n = count;
                stack[top].i = 0;
                top++;
                continue;
            }
            obj = finish_array(list, list_hook, root_list && top == 0);
        }
        if (obj == NULL)
            goto error;
        /* place obj in the array being read; each array that fills up becomes a value */
        while (top > 0) {
            Level *l = &stack[top - 1];
            PyList_SET_ITEM(l->list, l->i, obj);
            l->i++;
            if (l->i < l->n)
                break;
            top--;
            obj = finish_array(l->list, list_hook, root_list && top == 0);
            if (obj == NULL)
                goto error;
        }
        if (top == 0) {
            if (stack != inline_stack)
                PyMem_Free(stack);
            if (p != e) {
                Py_DECREF(obj);
                fail("extra bytes after the value");
                return NULL;
            }
            return obj;
        }
    }
#undef NEED

error:
    while (top > 0) { /* unfilled slots are NULL, which a list's deallocation skips */
        top--;
        Py_DECREF(stack[top].list);
    }
    if (stack != inline_stack)
        PyMem_Free(stack);
    return NULL;
}

/* fill(k, p, infos): fill the continuation k from its payload p, a list of frames laid end
 * to end (code-index, pc, slot-count, closure, slots...) then `resumable`, when every frame is
 * a plain frame without a closure of its own (nil): the commonest continuation. `infos` is
 * the reader's code table, a list of (fn, closure, frame size, blocks, kind, code) tuples.
 * Returns True when done; False, with k and p untouched, for anything else (other frames,
 * or data that does not fit), which the reader's Python then reads or refuses.
 * A frame is the live layout [fn, pc, parent, closure, slots...]; one frame reuses p.
 */
static int
index_of(PyObject *x, Py_ssize_t limit, Py_ssize_t *out)
{
    if (!PyLong_CheckExact(x))
        return 0;
    int overflow;
    long long v = PyLong_AsLongLongAndOverflow(x, &overflow);
    if (overflow || (v == -1 && PyErr_Occurred())) {
        PyErr_Clear();
        return 0;
    }
    if (v < -(long long)limit || v >= limit)
        return 0;
    *out = (Py_ssize_t)v;
    return 1;
}

static PyObject *
fill(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3)
        return PyErr_Format(PyExc_TypeError, "fill() takes 3 arguments (%zd given)", nargs);
    PyObject *k = args[0], *p = args[1], *infos = args[2];
    if (!PyList_CheckExact(p) || !PyList_CheckExact(infos))
        Py_RETURN_FALSE;
    const Py_ssize_t n = PyList_GET_SIZE(p) - 1, ninfos = PyList_GET_SIZE(infos);
    if (n < 0)
        Py_RETURN_FALSE;
    PyObject *resumable = PyList_GET_ITEM(p, n);
    if (!PyBool_Check(resumable))
        Py_RETURN_FALSE;
    Py_ssize_t j = 0, count = 0;
    while (j < n) { /* check every frame before changing anything */
        Py_ssize_t ci, size, nblocks, pc, slots;
        if (!index_of(PyList_GET_ITEM(p, j), ninfos, &ci))
            Py_RETURN_FALSE;
        PyObject *info = PyList_GET_ITEM(infos, ci < 0 ? ci + ninfos : ci);
        if (!PyTuple_CheckExact(info) || PyTuple_GET_SIZE(info) != 6)
            Py_RETURN_FALSE;
        if (!index_of(PyTuple_GET_ITEM(info, 2), PY_SSIZE_T_MAX, &size) || size < 4 || size > n - j)
            Py_RETURN_FALSE;
        if (!index_of(PyTuple_GET_ITEM(info, 3), PY_SSIZE_T_MAX, &nblocks))
            Py_RETURN_FALSE;
        Py_ssize_t kind; /* only PLAIN frames, kind 0 */
        if (!index_of(PyTuple_GET_ITEM(info, 4), PY_SSIZE_T_MAX, &kind) || kind != 0)
            Py_RETURN_FALSE;
        if (!index_of(PyList_GET_ITEM(p, j + 1), nblocks, &pc) || pc < 0)
            Py_RETURN_FALSE;
        if (!index_of(PyList_GET_ITEM(p, j + 2), PY_SSIZE_T_MAX, &slots) || slots != size - 4)
            Py_RETURN_FALSE;
        if (PyList_GET_ITEM(p, j + 3) != Py_None)
            Py_RETURN_FALSE;
        j += size;
        count++;
    }
    if (count == 0)
        Py_RETURN_FALSE;
    PyObject *frames = PyTuple_New(count);
    if (frames == NULL)
        return NULL;
    Py_INCREF(resumable);
    if (count == 1 && PyList_SetSlice(p, n, n + 1, NULL) < 0) /* p itself becomes the frame */
        goto error;
    for (Py_ssize_t f = 0, at = 0; f < count; f++) {
        Py_ssize_t ci;
        index_of(PyList_GET_ITEM(p, at), ninfos, &ci);
        PyObject *info = PyList_GET_ITEM(infos, ci < 0 ? ci + ninfos : ci);
        Py_ssize_t size = PyLong_AsSsize_t(PyTuple_GET_ITEM(info, 2));
        PyObject *rec = count == 1 ? Py_NewRef(p) : PyList_GetSlice(p, at, at + size);
        if (rec == NULL)
            goto error;
        PyTuple_SET_ITEM(frames, f, rec);
        at += size;
        /* [code-index, pc, slot-count, nil, slots...] -> [fn, pc, parent, closure, slots...] */
        PyObject *old0 = PyList_GET_ITEM(rec, 0), *old2 = PyList_GET_ITEM(rec, 2);
        PyList_SET_ITEM(rec, 0, Py_NewRef(PyTuple_GET_ITEM(info, 0)));
        PyList_SET_ITEM(rec, 2, Py_NewRef(Py_None));
        PyList_SET_ITEM(rec, 3, Py_NewRef(PyTuple_GET_ITEM(info, 1))); /* was None */
        Py_DECREF(old0);
        Py_DECREF(old2);
        Py_DECREF(Py_None);
    }
    if (PyObject_SetAttr(k, s_frames, frames) < 0 || PyObject_SetAttr(k, s_resumable, resumable) < 0)
        goto error;
    Py_DECREF(frames);
    Py_DECREF(resumable);
    Py_RETURN_TRUE;
error:
    Py_DECREF(frames);
    Py_DECREF(resumable);
    return NULL;
}

static PyObject *
set_vector_type(PyObject *self, PyObject *t)
{
    if (!PyType_Check(t))
        return PyErr_Format(PyExc_TypeError, "set_vector_type() needs a type");
    Py_XSETREF(vector_type, (PyTypeObject *)Py_NewRef(t));
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"decode", (PyCFunction)(void (*)(void))decode, METH_FASTCALL,
     "decode(data, pos, ext_hook, list_hook, root_list) -> the one msgpack object in data[pos:]"},
    {"fill", (PyCFunction)(void (*)(void))fill, METH_FASTCALL,
     "fill(k, payload, infos) -> True when k was filled (plain frames only), else False"},
    {"set_vector_type", set_vector_type, METH_O,
     "The type whose instances decode() builds without a call: obj.items = list, obj.n = len"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_decode",
    "The optional C decoder of format 2 (see format2_read.py).", -1, methods,
};

PyMODINIT_FUNC
PyInit__decode(void)
{
    s_items = PyUnicode_InternFromString("items");
    s_n = PyUnicode_InternFromString("n");
    s_frames = PyUnicode_InternFromString("frames");
    s_resumable = PyUnicode_InternFromString("resumable");
    if (s_items == NULL || s_n == NULL || s_frames == NULL || s_resumable == NULL)
        return NULL;
    return PyModule_Create(&module);
}
