#!/usr/bin/env python3
"""Sorts the ThreadSanitizer reports of `tests/run --sanitize=thread` into Simpul's and gRPC's.

Usage: tests/tsan_triage.py [--show-boundary] REPORT_DIR

Every process of the ThreadSanitizer run writes its reports to REPORT_DIR/report.<pid>
(TSAN_OPTIONS log_path). Exits 1, printing each in full, if any of them is

  * a report in Simpul code (below), or
  * a sanitizer error (a crash caught by ThreadSanitizer's signal handler, a failed internal
    CHECK, ...): with TSAN_OPTIONS exitcode=0 such a process exits 0, so its test may look passed;

and 0 otherwise, after a summary count of the reports that are not Simpul's.

Which reports are Simpul's. Each stack of the report that shows an access (data races and
use-after-free: the "Read of", "Write of", "Atomic ..." and "Previous ..." stacks, not where the
memory was allocated or a thread or mutex created; the other kinds, e.g. lock-order inversions
or thread leaks: all their stacks but those) is walked from frame #0 (the access) outwards, and
the first frame that is not neutral decides who made the access:

  * Simpul: a frame of one of our executables (Simpul's libraries are static) whose source file
    is not a system one, i.e. a file of this repository or code generated from its protos in the
    build folder (paths relative to the build folder or absolute; all other code on this machine
    comes from Debian packages: headers under /usr, shared libraries);
  * gRPC: a frame of Debian's libgrpc, libgrpc++ or libgpr, or of gRPC's headers (/usr/include/
    grpcpp, /usr/include/grpc) other than its plain value types (ByteBuffer, Slice, Status,
    string_ref), i.e. gRPC's call machinery (CallOpSet, CallbackWithSuccessTag, interceptors,
    the reactors' Start*/Finish, the stubs) inlined into our binaries;
  * neutral (skipped): the sanitizer runtime, the Abseil annotation shim
    (cmake/tsan/absl_sync_annotations.cc), every other shared library (glibc, the C++ library,
    Abseil, protobuf), system headers, gRPC's value types, frames without a source file.

A data race is
  * Simpul's (failed) when a stack is Simpul's and none is gRPC's: two Simpul accesses (on any
    threads, gRPC's callback threads included), or a Simpul access and library code;
  * at the boundary (counted) when one stack is Simpul's and the other gRPC's: e.g. gRPC's
    machinery deserializing into a buffer the reactor allocated before handing it over. gRPC
    orders its own side with atomics inside libgrpc that ThreadSanitizer cannot see, so such a
    report is neither proof nor disproof;
  * inside gRPC (counted) otherwise: both accesses in gRPC's machinery (even when a Simpul
    function further out called the gRPC API that made the access) or in libraries.
A use-after-free (an order in real time, not a missing edge), lock-order inversion, thread leak
or mutex misuse is Simpul's when any of its stacks is. Simpul's reactor code declares gRPC's
ordering guarantee with common/tsan_annotations.h, so a Simpul report is a real race or a
missing annotation.
"""

import collections
import os
import re
import sys

SECTION = re.compile(r"^  (?P<header>\S.*)$")
ACCESS_SECTION = re.compile(r"^(Read|Write|Atomic|Previous)\b")
# Allocation, thread and mutex creation stacks say where something came from, not who touched it.
ORIGIN_SECTION = re.compile(r"^(Location is|Thread T\d+.* created|Mutex \S+ .*created at)")
# "    #3 function name (may hold spaces) file:line:column (module+0xoffset)"
FRAME = re.compile(r"^\s+#\d+ (?P<rest>.*) \((?P<module>[^()]*)\)$")
SHIM = "cmake/tsan/absl_sync_annotations.cc"
GRPC_MODULE = re.compile(r"^lib(grpc|gpr|upb|address_sorting)")
SHARED_LIBRARY = re.compile(r"^(lib|ld-linux).*\.so(\.|$)")
GRPC_HEADERS = ("/usr/include/grpcpp/", "/usr/include/grpc/", "/usr/include/grpc++/")
# gRPC's value types: data that Simpul code owns and reads or writes like any other.
GRPC_VALUE_HEADERS = re.compile(r"/(byte_buffer|slice|status|string_ref|status_code_enum)\.h$")
SANITIZER_ERROR = re.compile(r"ERROR: ThreadSanitizer|ThreadSanitizer:DEADLYSIGNAL|"
                             r"ThreadSanitizer: CHECK failed|FATAL: ThreadSanitizer")


def file_of(rest):
    """The source file of a frame ("<null>" when unknown), without line and column."""
    return re.sub(r"(:\d+)+$", "", rest.rsplit(" ", 1)[-1])


def owner(path, module):
    """"simpul", "grpc" or None (neutral) for one frame."""
    module = re.sub(r"\+0x[0-9a-f]+$", "", module)
    if "libsanitizer" in path or module.startswith(("libtsan", "libclang_rt")):
        return None
    if path.endswith(SHIM):
        return None
    module = os.path.basename(module)
    if GRPC_MODULE.match(module):
        return "grpc"
    # Any other shared library is Debian's (Simpul's libraries are static): glibc, libstdc++,
    # Abseil, protobuf, whatever their debug paths say.
    if SHARED_LIBRARY.match(module):
        return None
    if path.startswith(GRPC_HEADERS):
        return None if GRPC_VALUE_HEADERS.search(path) else "grpc"
    if path == "<null>" or path.startswith(("/usr/", "/lib")):
        return None
    return "simpul"


def split_reports(text):
    """Yields the reports (lists of lines, each from its WARNING to its SUMMARY) of one log, and
    the sanitizer errors. A report cut short (its process died while writing it) is kept."""
    current = None
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("WARNING: ThreadSanitizer:"):
            if current:
                yield current
            current = [line]
        elif SANITIZER_ERROR.search(line):
            if current:
                yield current
            # A crash or internal error: the rest of the log is its story (its stack).
            yield lines[i:]
            return
        elif current is not None:
            current.append(line)
            if line.startswith("SUMMARY: ThreadSanitizer:"):
                yield current
                current = None
    if current:
        yield current


def stacks(report):
    """Yields (section header, [(path, module), ...]) for every stack of a report."""
    header, frames = "", []
    for line in report[1:]:
        m = SECTION.match(line)
        if m:
            if frames:
                yield header, frames
            header, frames = m.group("header"), []
            continue
        m = FRAME.match(line)
        if m:
            frames.append((file_of(m.group("rest")), m.group("module")))
    if frames:
        yield header, frames


def kind_of(report):
    return re.sub(r"\s*\(pid=\d+\)\s*$", "", report[0].split("ThreadSanitizer:", 1)[-1]).strip()


def stack_owner(frames):
    """"simpul", "grpc" or None: who made the access of one stack (see the module's doc)."""
    for path, module in frames:
        who = owner(path, module)
        if who is not None:
            return who
    return None


def classify(report):
    """"simpul" (failed), "boundary" or "grpc" (counted), per the module's doc."""
    if SANITIZER_ERROR.search(report[0]):
        return "simpul"
    kind = kind_of(report)
    if kind.startswith("data race"):
        owners = {stack_owner(frames) for header, frames in stacks(report)
                  if ACCESS_SECTION.match(header)}
        if "simpul" not in owners:
            return "grpc"
        return "boundary" if "grpc" in owners else "simpul"
    # Use after free (an order in real time, not a missing happens-before edge), lock-order
    # inversions, thread leaks, mutex misuse: Simpul's if any of its stacks is.
    for header, frames in stacks(report):
        if ORIGIN_SECTION.match(header) and kind != "thread leak":
            continue
        if stack_owner(frames) == "simpul":
            return "simpul"
    return "grpc"


def where(report):
    """Where a report not Simpul's happened, for the summary: its SUMMARY line's function."""
    last = report[-1]
    if last.startswith("SUMMARY:"):
        return last.split(" in ", 1)[-1]
    return kind_of(report)


def main():
    args = sys.argv[1:]
    show_boundary = "--show-boundary" in args
    args = [a for a in args if a != "--show-boundary"]
    if len(args) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    folder = args[0]
    names = sorted(os.listdir(folder)) if os.path.isdir(folder) else []
    simpul, counts = [], {"boundary": collections.Counter(), "grpc": collections.Counter()}
    for name in names:
        with open(os.path.join(folder, name), errors="replace") as f:
            for report in split_reports(f.read()):
                kind = classify(report)
                if kind == "simpul":
                    simpul.append((name, report))
                else:
                    if kind == "boundary" and show_boundary:
                        print(f"--- {name}: ThreadSanitizer report between Simpul and gRPC")
                        print("\n".join(report))
                    counts[kind][where(report)] += 1
    for name, report in simpul:
        what = "error" if SANITIZER_ERROR.search(report[0]) else "report in Simpul code"
        print(f"--- {name}: ThreadSanitizer {what}")
        print("\n".join(report))
    boundary, grpc = counts["boundary"], counts["grpc"]
    print(f"tsan_triage: {len(names)} logs; {len(simpul)} reports in Simpul code or sanitizer "
          f"errors (failed); {sum(boundary.values())} between Simpul code and gRPC's call "
          f"machinery and {sum(grpc.values())} inside gRPC (not failed)")
    for title, counter in (("boundary", boundary), ("inside gRPC", grpc)):
        for place, count in counter.most_common(6):
            print(f"  {title:11s} {count:5d}  {place}")
    return 1 if simpul else 0


if __name__ == "__main__":
    sys.exit(main())
