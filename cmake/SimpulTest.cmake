# simpul_cc_test(NAME name SRCS files... DEPS targets... [LABELS labels...] [COST seconds])
# Builds one GoogleTest binary and registers each test with ctest. Tests that start a real
# redis-server carry the label "redis", end-to-end tests also "e2e".
# gtest_discover_tests flattens its PROPERTIES into one list, so a second label would be read
# as a property name: several labels are joined into one ("redis:e2e"). `ctest -L` takes a
# regular expression, so `-L e2e` and `-L redis` both select such a test.
# COST (optional): ctest starts tests of a higher cost first, so a long test does not start
# last and run alone (a clean CI run has no timings of its own yet).
#
# SIMPUL_TEST_PCH (tests/run turns it on in CI): every test binary reuses one precompiled
# header of what nearly every test includes (GoogleTest, gRPC, protobuf, Abseil, the standard
# library), compiled once (target simpul_test_pch) instead of parsed again in each of the
# ~110 test sources. Off by default: with ccache a developer's rebuilds are cached already,
# and ccache does not cache compilations that use a precompiled header unless told to.
option(SIMPUL_TEST_PCH "Test binaries share one precompiled header" OFF)
set(SIMPUL_TEST_CMAKE_DIR "${CMAKE_CURRENT_LIST_DIR}")

# A precompiled header is used only where the macros it was compiled with are defined the same
# way: most test binaries get -pthread (_REENTRANT) and _FILE_OFFSET_BITS=64 from their
# dependencies, a few do not; every test gets both, and so does the header.
function(simpul_test_pch_flags target)
  target_compile_options(${target} PRIVATE -pthread)
  target_compile_definitions(${target} PRIVATE _FILE_OFFSET_BITS=64)
endfunction()

function(simpul_test_pch_target)
  if(TARGET simpul_test_pch)
    return()
  endif()
  add_library(simpul_test_pch STATIC "${SIMPUL_TEST_CMAKE_DIR}/test_pch.cc")
  target_link_libraries(simpul_test_pch PUBLIC GTest::gmock GTest::gtest gRPC::grpc++
    protobuf::libprotobuf absl::strings absl::time absl::status absl::statusor
    absl::synchronization)
  simpul_test_pch_flags(simpul_test_pch)
  target_precompile_headers(simpul_test_pch PRIVATE
    <algorithm> <atomic> <functional> <map> <memory> <optional> <set> <string>
    <string_view> <thread> <utility> <vector>
    <gmock/gmock.h> <gtest/gtest.h> <grpcpp/grpcpp.h> <google/protobuf/message.h>
    <absl/status/statusor.h> <absl/strings/match.h> <absl/strings/str_cat.h>
    <absl/synchronization/mutex.h> <absl/time/clock.h> <absl/time/time.h>
    <filesystem> <fstream> <iostream> <sstream> <google/protobuf/util/json_util.h>)
endfunction()

function(simpul_cc_test)
  cmake_parse_arguments(ARG "" "NAME;COST" "SRCS;DEPS;LABELS" ${ARGN})
  add_executable(${ARG_NAME} ${ARG_SRCS})
  target_link_libraries(${ARG_NAME} PRIVATE ${ARG_DEPS} GTest::gmock GTest::gtest_main)
  if(SIMPUL_TEST_PCH)
    simpul_test_pch_target()
    simpul_test_pch_flags(${ARG_NAME})
    target_precompile_headers(${ARG_NAME} REUSE_FROM simpul_test_pch)
  endif()
  list(JOIN ARG_LABELS ":" label)
  if(NOT ARG_COST)
    set(ARG_COST 0)
  endif()
  gtest_discover_tests(${ARG_NAME}
    PROPERTIES LABELS "${label}" COST ${ARG_COST}
    DISCOVERY_TIMEOUT 60)
endfunction()
