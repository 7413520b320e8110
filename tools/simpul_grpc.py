"""simpul_grpc: a small dynamic gRPC client for Simpul services, driven by server reflection.

This is the one implementation shared by `tools/simpul-call` (the command-line client) and
`deploy/demo/load_demo.py` (the demo loader). It needs no generated Python code for Simpul's
protos: it asks the server for its FileDescriptorProtos through `grpc.reflection.v1alpha`
(the only reflection version gRPC 1.51 serves), builds message classes from them at run time
and speaks JSON (protobuf's canonical JSON mapping) or Python dicts to its callers.

Only the bootstrap protos (reflection and health) are compiled locally, with grpc_tools.protoc,
from the Debian package grpc-proto (/usr/share/grpc-proto; override with SIMPUL_GRPC_PROTO_DIR).

Mutual TLS: services configured with internal TLS (docs/operations.md, "Internal TLS") accept
only callers presenting a certificate of their CA. A Client takes a TlsFiles (CA, certificate,
key and optionally the name the server's certificate must carry); without one it reads
SIMPUL_TLS_CA, SIMPUL_TLS_CERT, SIMPUL_TLS_KEY and SIMPUL_TLS_NAME from the environment, and is
plaintext when none of them is set.

JSON convention: responses keep the proto field names (snake_case, e.g. "region_code"), enums
are printed by name, int64 values are strings (proto3 JSON mapping) and fields holding their
default value are omitted unless `emit_defaults` is set. Requests accept both snake_case and
lowerCamelCase names, enum names or numbers.

Requires /usr/bin/python3 with the Debian packages python3-grpcio and python3-grpc-tools.
"""

import os
import shutil
import tempfile
import threading

import grpc
from google.protobuf import descriptor_pb2
from google.protobuf import descriptor_pool
from google.protobuf import json_format
from google.protobuf import message_factory

IDENTITY_METADATA_KEY = "x-simpul-identity"
STATUS_DETAILS_KEY = "grpc-status-details-bin"
REFLECTION_SERVICE = "grpc.reflection.v1alpha.ServerReflection"
HEALTH_SERVICE = "grpc.health.v1.Health"
BAD_REQUEST_TYPE = "simpul.common.v1.BadRequest"
ERROR_STATUS_TYPE = "simpul.common.v1.ErrorStatus"
DEFAULT_ADDR = "127.0.0.1:7101"
DEFAULT_TIMEOUT = 10.0

_BOOTSTRAP_FILES = ("grpc/reflection/v1alpha/reflection.proto", "grpc/health/v1/health.proto")
_bootstrap_lock = threading.Lock()
_bootstrap = None


class SimpulGrpcError(Exception):
    """SimpulGrpcError is a local failure: bad usage, unknown method, unparsable input."""


class TlsFiles:
    """TlsFiles are the PEM files of a mutual-TLS channel.

    ca: the CA the server's certificate must be signed by; cert and key: the client's own
    certificate and key (both or neither); name: the name the server's certificate must carry
    (e.g. "simpul-registry"; None checks the dialled host, e.g. 127.0.0.1, which every
    certificate made by deploy/pki carries).
    """

    def __init__(self, ca, cert=None, key=None, name=None):
        if not ca:
            raise SimpulGrpcError("TLS needs the CA file (--ca or SIMPUL_TLS_CA)")
        if bool(cert) != bool(key):
            raise SimpulGrpcError("a client certificate needs its key and the key its "
                                  "certificate (--cert/--key or SIMPUL_TLS_CERT/SIMPUL_TLS_KEY)")
        self.ca, self.cert, self.key, self.name = ca, cert, key, name

    @staticmethod
    def _read(what, path):
        try:
            with open(path, "rb") as f:
                return f.read()
        except OSError as e:
            raise SimpulGrpcError(f"{what}: cannot read {path}: {e.strerror}") from None

    def credentials(self):
        return grpc.ssl_channel_credentials(
            root_certificates=self._read("CA", self.ca),
            private_key=self._read("TLS key", self.key) if self.key else None,
            certificate_chain=self._read("TLS certificate", self.cert) if self.cert else None)

    def channel_options(self):
        return [("grpc.ssl_target_name_override", self.name)] if self.name else []


def tls_from_env(environ=None):
    """tls_from_env returns the TlsFiles named by SIMPUL_TLS_CA, SIMPUL_TLS_CERT, SIMPUL_TLS_KEY
    and SIMPUL_TLS_NAME, or None when none of the three files is set."""
    environ = os.environ if environ is None else environ
    ca, cert, key = (environ.get(f"SIMPUL_TLS_{k}") or None for k in ("CA", "CERT", "KEY"))
    if not (ca or cert or key):
        return None
    return TlsFiles(ca, cert, key, environ.get("SIMPUL_TLS_NAME") or None)


def make_channel(addr, tls=None):
    """make_channel dials addr: mutual TLS with a TlsFiles, plaintext with None."""
    if tls is None:
        return grpc.insecure_channel(addr)
    return grpc.secure_channel(addr, tls.credentials(), options=tls.channel_options())


class CallError(Exception):
    """CallError is a failed RPC: its gRPC status code, message and decoded error details.

    violations is a list of (field, description) pairs from the simpul.common.v1.BadRequest
    detail; other_details lists any other detail as (type_url, text).
    """

    def __init__(self, code, message, violations=(), other_details=()):
        super().__init__(f"{code.name}: {message}")
        self.code = code
        self.message = message
        self.violations = list(violations)
        self.other_details = list(other_details)

    @property
    def code_name(self):
        return self.code.name

    @property
    def exit_code(self):
        return self.code.value[0]

    def format(self):
        """format renders the error as printed by simpul-call on stderr."""
        lines = [f"ERROR {self.code.name}: {self.message}"]
        for field, description in self.violations:
            lines.append(f"  {field or '(request)'}: {description}")
        for type_url, text in self.other_details:
            lines.append(f"  detail {type_url}: {text}")
        return "\n".join(lines)


def message_class(descriptor):
    """message_class returns the Python class of a message descriptor from any pool."""
    get = getattr(message_factory, "GetMessageClass", None)  # protobuf >= 4.22
    if get is not None:
        return get(descriptor)
    pool = descriptor.file.pool
    factory = _factories.get(id(pool))
    if factory is None:
        factory = _factories[id(pool)] = (pool, message_factory.MessageFactory(pool))
    return factory[1].GetPrototype(descriptor)


_factories = {}


def grpc_proto_dir():
    """grpc_proto_dir is where the grpc-proto package keeps reflection.proto and health.proto."""
    candidates = [os.environ.get("SIMPUL_GRPC_PROTO_DIR", ""), "/usr/share/grpc-proto"]
    for d in candidates:
        if d and os.path.isfile(os.path.join(d, _BOOTSTRAP_FILES[0])):
            return d
    raise SimpulGrpcError(
        "cannot find grpc/reflection/v1alpha/reflection.proto: install the Debian package "
        "grpc-proto (or set SIMPUL_GRPC_PROTO_DIR)")


def bootstrap_pool():
    """bootstrap_pool compiles the reflection and health protos once per process."""
    global _bootstrap
    with _bootstrap_lock:
        if _bootstrap is not None:
            return _bootstrap
        try:
            import grpc_tools
            from grpc_tools import protoc
        except ImportError as e:
            raise SimpulGrpcError(
                f"grpc_tools is missing ({e}): install python3-grpc-tools and run with "
                "/usr/bin/python3") from e
        well_known = os.path.join(os.path.dirname(grpc_tools.__file__), "_proto")
        tmp = tempfile.mkdtemp(prefix="simpul-grpc-")
        try:
            out = os.path.join(tmp, "bootstrap.binpb")
            args = ["grpc_tools.protoc", f"-I{grpc_proto_dir()}", f"-I{well_known}",
                    f"--descriptor_set_out={out}", "--include_imports", *_BOOTSTRAP_FILES]
            if protoc.main(args) != 0 or not os.path.exists(out):
                raise SimpulGrpcError("grpc_tools.protoc could not compile " +
                                      ", ".join(_BOOTSTRAP_FILES))
            with open(out, "rb") as f:
                files = descriptor_pb2.FileDescriptorSet.FromString(f.read()).file
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        pool = descriptor_pool.DescriptorPool()
        for fdp in files:  # --include_imports lists dependencies first
            pool.AddSerializedFile(fdp.SerializeToString())
        _bootstrap = pool
        return pool


def _find_symbol(pool, name):
    """_find_symbol returns the service, method, message or enum descriptor named `name`."""
    for finder in (pool.FindServiceByName, pool.FindMessageTypeByName, pool.FindEnumTypeByName):
        try:
            return finder(name)
        except KeyError:
            pass
    service_name, _, method = name.rpartition(".")
    if service_name:
        try:
            return pool.FindServiceByName(service_name).methods_by_name[method]
        except KeyError:
            pass
    return None


def _read_varint(data, pos):
    result = shift = 0
    while True:
        if pos >= len(data):
            raise ValueError("truncated varint")
        b = data[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7


def _wire_fields(data):
    """_wire_fields yields (number, wire_type, value) of a serialized message (no groups)."""
    pos = 0
    while pos < len(data):
        key, pos = _read_varint(data, pos)
        number, wire_type = key >> 3, key & 7
        if wire_type == 0:
            value, pos = _read_varint(data, pos)
        elif wire_type == 1:
            value, pos = data[pos:pos + 8], pos + 8
        elif wire_type == 2:
            length, pos = _read_varint(data, pos)
            value, pos = data[pos:pos + length], pos + length
        elif wire_type == 5:
            value, pos = data[pos:pos + 4], pos + 4
        else:
            raise ValueError(f"unsupported wire type {wire_type}")
        yield number, wire_type, value


def decode_status_details(blob):
    """decode_status_details parses a grpc-status-details-bin trailer by hand.

    The trailer is a simpul.common.v1.ErrorStatus (wire-compatible with google.rpc.Status):
    1 code, 2 message, 3 repeated Any details; a BadRequest detail holds 1 repeated
    FieldViolation{1 field, 2 description}. Returns (violations, other_details).
    """
    violations, others = [], []
    for number, wire_type, value in _wire_fields(blob):
        if number != 3 or wire_type != 2:
            continue
        type_url, payload = "", b""
        for n, wt, v in _wire_fields(value):
            if n == 1 and wt == 2:
                type_url = v.decode("utf-8", "replace")
            elif n == 2 and wt == 2:
                payload = v
        if type_url.rpartition("/")[2] == BAD_REQUEST_TYPE:
            for n, wt, v in _wire_fields(payload):
                if n != 1 or wt != 2:
                    continue
                field = description = ""
                for fn, fwt, fv in _wire_fields(v):
                    if fn == 1 and fwt == 2:
                        field = fv.decode("utf-8", "replace")
                    elif fn == 2 and fwt == 2:
                        description = fv.decode("utf-8", "replace")
                violations.append((field, description))
        else:
            others.append((type_url, f"{len(payload)} bytes"))
    return violations, others


class Client:
    """Client calls any method a server exposes through reflection.

    addr: "host:port"; token: the x-simpul-identity token (None for public calls);
    timeout: seconds for unary calls and reflection look-ups (streams have none unless
    stream_timeout is given); metadata: extra (key, value) pairs sent with every call;
    tls: a TlsFiles, False for plaintext, or None for tls_from_env() (plaintext when the
    environment names no TLS file).
    """

    def __init__(self, addr=DEFAULT_ADDR, token=None, timeout=DEFAULT_TIMEOUT, metadata=(),
                 emit_defaults=False, tls=None):
        self.addr = addr
        self.token = token
        self.timeout = timeout
        self.extra_metadata = list(metadata)
        self.emit_defaults = emit_defaults
        self.tls = tls_from_env() if tls is None else (tls or None)
        self.channel = make_channel(addr, self.tls)
        self.pool = descriptor_pool.DescriptorPool()  # the server's own types
        self._files = {}  # FileDescriptorProtos added to self.pool, by file name
        self._boot = bootstrap_pool()
        self._refl_request = message_class(
            self._boot.FindMessageTypeByName("grpc.reflection.v1alpha.ServerReflectionRequest"))
        self._refl_response = message_class(
            self._boot.FindMessageTypeByName("grpc.reflection.v1alpha.ServerReflectionResponse"))
        self._services = None

    def close(self):
        self.channel.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ---- metadata and errors -------------------------------------------------------------

    def metadata(self, token=None):
        token = self.token if token is None else token
        md = list(self.extra_metadata)
        if token:
            md.append((IDENTITY_METADATA_KEY, token.strip()))
        return md

    def _call_error(self, err):
        code = err.code() if hasattr(err, "code") else grpc.StatusCode.UNKNOWN
        message = err.details() if hasattr(err, "details") else str(err)
        violations, others = [], []
        trailers = err.trailing_metadata() if hasattr(err, "trailing_metadata") else None
        for key, value in trailers or ():
            if key != STATUS_DETAILS_KEY:
                continue
            try:
                violations, others = self._decode_details(value)
            except Exception as e:  # a malformed trailer must not hide the status itself
                others = [("grpc-status-details-bin", f"undecodable: {e}")]
        return CallError(code, message or "", violations, others)

    def _decode_details(self, blob):
        """_decode_details prefers the reflected simpul.common.v1 descriptors (so unknown
        detail types are shown as JSON) and falls back to the hand-written wire parser."""
        try:
            status_desc = self.pool.FindMessageTypeByName(ERROR_STATUS_TYPE)
            bad_request_desc = self.pool.FindMessageTypeByName(BAD_REQUEST_TYPE)
        except KeyError:
            return decode_status_details(blob)
        status = message_class(status_desc).FromString(blob)
        violations, others = [], []
        for any_msg in status.details:
            type_name = any_msg.type_url.rpartition("/")[2]
            if type_name == BAD_REQUEST_TYPE:
                bad = message_class(bad_request_desc).FromString(any_msg.value)
                violations.extend((v.field, v.description) for v in bad.field_violations)
                continue
            try:
                cls = message_class(self.pool.FindMessageTypeByName(type_name))
                text = json_format.MessageToJson(cls.FromString(any_msg.value), indent=None,
                                                 preserving_proto_field_name=True,
                                                 descriptor_pool=self.pool, ensure_ascii=False)
            except Exception:
                text = f"{len(any_msg.value)} bytes"
            others.append((any_msg.type_url, text))
        return violations, others

    # ---- reflection ----------------------------------------------------------------------

    def _reflect(self, **request):
        stub = self.channel.stream_stream(
            f"/{REFLECTION_SERVICE}/ServerReflectionInfo",
            request_serializer=self._refl_request.SerializeToString,
            response_deserializer=self._refl_response.FromString)
        try:
            responses = list(stub(iter([self._refl_request(**request)]), timeout=self.timeout,
                                  metadata=self.metadata()))
        except grpc.RpcError as e:
            raise self._call_error(e) from None
        if not responses:
            raise CallError(grpc.StatusCode.INTERNAL, "empty server reflection response")
        resp = responses[0]
        if resp.WhichOneof("message_response") == "error_response":
            code = _status_code(resp.error_response.error_code)
            raise CallError(code, f"server reflection: {resp.error_response.error_message}")
        return resp

    def list_services(self):
        """list_services returns the fully qualified names of every service, sorted."""
        if self._services is None:
            resp = self._reflect(list_services="")
            self._services = sorted(s.name for s in resp.list_services_response.service)
        return list(self._services)

    def _add_files(self, serialized_files):
        protos = {}
        for blob in serialized_files:
            fdp = descriptor_pb2.FileDescriptorProto.FromString(blob)
            protos[fdp.name] = fdp

        def have(name):
            try:
                self.pool.FindFileByName(name)
                return True
            except KeyError:
                return False

        def add(name, seen):
            if name in seen or have(name):
                return
            seen.add(name)
            fdp = protos.get(name)
            if fdp is None:
                resp = self._reflect(file_by_filename=name)
                for b in resp.file_descriptor_response.file_descriptor_proto:
                    d = descriptor_pb2.FileDescriptorProto.FromString(b)
                    protos.setdefault(d.name, d)
                fdp = protos.get(name)
                if fdp is None:
                    raise SimpulGrpcError(f"server reflection did not return file {name}")
            for dep in fdp.dependency:
                add(dep, seen)
            self.pool.AddSerializedFile(fdp.SerializeToString())
            self._files[fdp.name] = fdp

        seen = set()
        for name in list(protos):
            add(name, seen)

    def find_symbol(self, name, load=True):
        """find_symbol returns the descriptor (service, method, message or enum) named by its
        fully qualified name, loading its file through reflection when needed; None if the
        server does not know it."""
        found = _find_symbol(self.pool, name)
        if found is not None or not load:
            return found
        for symbol in (name, name.rpartition(".")[0]):
            if not symbol:
                continue
            try:
                resp = self._reflect(file_containing_symbol=symbol)
            except CallError as e:
                if e.code in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT,
                              grpc.StatusCode.UNIMPLEMENTED):
                    continue
                raise
            self._add_files(resp.file_descriptor_response.file_descriptor_proto)
            found = _find_symbol(self.pool, name)
            if found is not None:
                return found
        # The C++ server's built-in health service has no reflected descriptor: use ours.
        if name.startswith(("grpc.health.v1.", "grpc.reflection.v1alpha.")):
            return _find_symbol(self._boot, name)
        return None

    def find_short_name(self, short):
        """find_short_name finds a message, enum or service by the end of its name (e.g.
        "TimeZone" or "v1.TimeZone") among the files of every listed service; None if there
        is no match, SimpulGrpcError if several match."""
        for service_name in self.list_services():
            if service_name != REFLECTION_SERVICE:
                try:
                    self.find_symbol(service_name)
                except CallError:
                    pass

        def walk(prefix, messages, enums):
            for e in enums:
                yield f"{prefix}{e.name}"
            for m in messages:
                yield f"{prefix}{m.name}"
                yield from walk(f"{prefix}{m.name}.", m.nested_type, m.enum_type)

        matches = set()
        for fdp in self._files.values():
            prefix = f"{fdp.package}." if fdp.package else ""
            names = list(walk(prefix, fdp.message_type, fdp.enum_type))
            names += [f"{prefix}{svc.name}" for svc in fdp.service]
            matches.update(n for n in names if n == short or n.endswith("." + short))
        if len(matches) > 1:
            raise SimpulGrpcError(f"{short} is ambiguous: " + ", ".join(sorted(matches)))
        return self.find_symbol(matches.pop()) if matches else None

    def service(self, name):
        """service returns the ServiceDescriptor of a fully qualified service name."""
        desc = self.find_symbol(name)
        if desc is None or not hasattr(desc, "methods"):
            raise SimpulGrpcError(f"service {name} not found on {self.addr}")
        return desc

    def resolve_service_name(self, name):
        """resolve_service_name maps "Registry" or "simpul.registry.v1.Registry" to the full
        name of a listed service."""
        services = self.list_services()
        if name in services:
            return name
        matches = [s for s in services if s.endswith("." + name)]
        if len(matches) == 1:
            return matches[0]
        if not matches:
            raise SimpulGrpcError(f"no service {name!r} on {self.addr}; services: " +
                                  ", ".join(services))
        raise SimpulGrpcError(f"service {name!r} is ambiguous: " + ", ".join(matches))

    def resolve_method(self, name):
        """resolve_method accepts "pkg.Service/Method", "pkg.Service.Method", "Service/Method",
        "Service.Method" or a bare "Method" (when only one service has it)."""
        name = name.strip().lstrip("/")
        if "/" in name:
            service_part, method = name.split("/", 1)
        elif "." in name:
            service_part, _, method = name.rpartition(".")
        else:
            service_part, method = "", name
        if service_part:
            svc = self.service(self.resolve_service_name(service_part))
            if method not in svc.methods_by_name:
                raise SimpulGrpcError(
                    f"service {svc.full_name} has no method {method}; methods: " +
                    ", ".join(m.name for m in svc.methods))
            return svc.methods_by_name[method]
        candidates = []
        for service_name in self.list_services():
            if service_name == REFLECTION_SERVICE:
                continue
            try:
                svc = self.service(service_name)
            except (SimpulGrpcError, CallError):
                continue
            if method in svc.methods_by_name:
                candidates.append(svc.methods_by_name[method])
        if not candidates:
            raise SimpulGrpcError(f"no service on {self.addr} has a method {method}")
        if len(candidates) > 1:
            raise SimpulGrpcError(f"method {method} is ambiguous: " +
                                  ", ".join(m.full_name for m in candidates))
        return candidates[0]

    # ---- messages ------------------------------------------------------------------------

    def new_request(self, method, request=None):
        """new_request builds the request message of `method` from None, a JSON string, a dict
        or an already built message."""
        cls = message_class(method.input_type)
        if request is None:
            return cls()
        if isinstance(request, (str, bytes)):
            text = request.decode() if isinstance(request, bytes) else request
            msg = cls()
            try:
                json_format.Parse(text if text.strip() else "{}", msg,
                                  descriptor_pool=self.pool)
            except json_format.ParseError as e:
                raise SimpulGrpcError(f"request for {method.full_name}: {e}") from None
            return msg
        if isinstance(request, dict):
            msg = cls()
            try:
                json_format.ParseDict(request, msg, descriptor_pool=self.pool)
            except json_format.ParseError as e:
                raise SimpulGrpcError(f"request for {method.full_name}: {e}") from None
            return msg
        return request

    def to_json(self, msg, indent=2):
        return json_format.MessageToJson(msg, including_default_value_fields=self.emit_defaults,
                                         preserving_proto_field_name=True, indent=indent,
                                         descriptor_pool=self.pool, ensure_ascii=False)

    def to_dict(self, msg):
        return json_format.MessageToDict(msg, including_default_value_fields=self.emit_defaults,
                                         preserving_proto_field_name=True,
                                         descriptor_pool=self.pool)

    # ---- calls ---------------------------------------------------------------------------

    def invoke(self, method, request=None, token=None, timeout=None, stream_timeout=None):
        """invoke calls a method (a descriptor or a name for resolve_method).

        Unary: returns the response message. Server streaming: returns an iterator of
        messages (cancel it with .cancel() on the underlying call via `close()` of the
        iterator, or just stop iterating and close the client). Raises CallError.
        """
        if isinstance(method, str):
            method = self.resolve_method(method)
        if method.client_streaming:
            raise SimpulGrpcError(f"{method.full_name} is client-streaming; not supported")
        req = self.new_request(method, request)
        path = f"/{method.containing_service.full_name}/{method.name}"
        resp_cls = message_class(method.output_type)
        md = self.metadata(token)
        if method.server_streaming:
            stub = self.channel.unary_stream(path, request_serializer=type(req).SerializeToString,
                                             response_deserializer=resp_cls.FromString)
            call = stub(req, timeout=stream_timeout, metadata=md)
            return _Stream(call, self)
        stub = self.channel.unary_unary(path, request_serializer=type(req).SerializeToString,
                                        response_deserializer=resp_cls.FromString)
        try:
            return stub(req, timeout=self.timeout if timeout is None else timeout, metadata=md)
        except grpc.RpcError as e:
            raise self._call_error(e) from None

    def call(self, method, request=None, token=None, timeout=None):
        """call invokes a unary method with a dict (or JSON) and returns the response as a
        dict with proto field names."""
        return self.to_dict(self.invoke(method, request, token=token, timeout=timeout))

    def health(self, service="", timeout=None):
        """health returns the serving status name (e.g. "SERVING") of grpc.health.v1."""
        method = self._boot.FindServiceByName(HEALTH_SERVICE).methods_by_name["Check"]
        req_cls = message_class(method.input_type)
        resp_cls = message_class(method.output_type)
        stub = self.channel.unary_unary(f"/{HEALTH_SERVICE}/Check",
                                        request_serializer=req_cls.SerializeToString,
                                        response_deserializer=resp_cls.FromString)
        try:
            resp = stub(req_cls(service=service),
                        timeout=self.timeout if timeout is None else timeout,
                        metadata=self.metadata())
        except grpc.RpcError as e:
            raise self._call_error(e) from None
        return method.output_type.fields_by_name["status"].enum_type.values_by_number[
            resp.status].name


class _Stream:
    """_Stream iterates a server stream, turning failures into CallError."""

    def __init__(self, call, client):
        self._call = call
        self._client = client

    def __iter__(self):
        return self

    def __next__(self):
        try:
            return next(self._call)
        except grpc.RpcError as e:
            if e.code() == grpc.StatusCode.CANCELLED and self._cancelled:
                raise StopIteration from None
            raise self._client._call_error(e) from None

    _cancelled = False

    def cancel(self):
        self._cancelled = True
        self._call.cancel()


def _status_code(number):
    for code in grpc.StatusCode:
        if code.value[0] == number:
            return code
    return grpc.StatusCode.UNKNOWN


def describe(desc):
    """describe renders a service, method, message or enum descriptor as proto-like text."""
    from google.protobuf.descriptor import (Descriptor, EnumDescriptor, FieldDescriptor,
                                            MethodDescriptor, ServiceDescriptor)

    def rpc_line(m):
        return (f"rpc {m.name}({'stream ' if m.client_streaming else ''}{m.input_type.full_name})"
                f" returns ({'stream ' if m.server_streaming else ''}{m.output_type.full_name});")

    def field_type(f):
        if f.type == FieldDescriptor.TYPE_MESSAGE:
            return f.message_type.full_name
        if f.type == FieldDescriptor.TYPE_ENUM:
            return f.enum_type.full_name
        names = {v: k[len("TYPE_"):].lower() for k, v in vars(FieldDescriptor).items()
                 if k.startswith("TYPE_") and isinstance(v, int)}
        return names.get(f.type, str(f.type))

    def is_map(f):
        return (f.type == FieldDescriptor.TYPE_MESSAGE and
                f.message_type.GetOptions().map_entry)

    def field_line(f):
        if is_map(f):
            k, v = f.message_type.fields_by_name["key"], f.message_type.fields_by_name["value"]
            return f"map<{field_type(k)}, {field_type(v)}> {f.name} = {f.number};"
        label = "repeated " if f.label == FieldDescriptor.LABEL_REPEATED else ""
        return f"{label}{field_type(f)} {f.name} = {f.number};"

    if isinstance(desc, ServiceDescriptor):
        lines = [f"{desc.full_name} is a service:", f"service {desc.name} {{"]
        lines += [f"  {rpc_line(m)}" for m in desc.methods]
        return "\n".join(lines + ["}"])
    if isinstance(desc, MethodDescriptor):
        return f"{desc.full_name} is a method:\n{rpc_line(desc)}"
    if isinstance(desc, Descriptor):
        lines = [f"{desc.full_name} is a message:", f"message {desc.name} {{"]
        shown_oneofs = set()
        for f in desc.fields:  # declaration order; a oneof is shown where its first field is
            o = f.containing_oneof
            synthetic = o is not None and len(o.fields) == 1 and o.name == "_" + f.name
            if o is None or synthetic:
                optional = "optional " if synthetic else ""
                lines.append(f"  {optional}{field_line(f)}")
            elif o.name not in shown_oneofs:
                shown_oneofs.add(o.name)
                lines.append(f"  oneof {o.name} {{")
                lines += [f"    {field_line(of)}" for of in o.fields]
                lines.append("  }")
        return "\n".join(lines + ["}"])
    if isinstance(desc, EnumDescriptor):
        lines = [f"{desc.full_name} is an enum:", f"enum {desc.name} {{"]
        lines += [f"  {v.name} = {v.number};" for v in desc.values]
        return "\n".join(lines + ["}"])
    return repr(desc)
