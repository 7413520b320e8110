# simpul_proto_library(NAME target ALIAS simpul::x PROTOS files... DEPS targets... [GRPC])
# Generates C++ (and gRPC stubs when GRPC is given) for one proto package. Headers are
# included by package path, e.g. "simpul/registry/v1/registry.grpc.pb.h".
function(simpul_proto_library)
  cmake_parse_arguments(ARG "GRPC" "NAME;ALIAS" "PROTOS;DEPS" ${ARGN})
  add_library(${ARG_NAME} STATIC ${ARG_PROTOS})
  target_link_libraries(${ARG_NAME} PUBLIC protobuf::libprotobuf ${ARG_DEPS})
  if(ARG_GRPC)
    target_link_libraries(${ARG_NAME} PUBLIC gRPC::grpc++)
  endif()
  set(proto_root ${PROJECT_SOURCE_DIR}/protos)
  set(out_dir ${PROJECT_BINARY_DIR}/protos)
  file(MAKE_DIRECTORY ${out_dir})
  target_include_directories(${ARG_NAME} PUBLIC ${out_dir})
  protobuf_generate(TARGET ${ARG_NAME} LANGUAGE cpp IMPORT_DIRS ${proto_root}
                    PROTOC_OUT_DIR ${out_dir})
  if(ARG_GRPC)
    protobuf_generate(TARGET ${ARG_NAME} LANGUAGE grpc IMPORT_DIRS ${proto_root}
                      PROTOC_OUT_DIR ${out_dir}
                      GENERATE_EXTENSIONS .grpc.pb.h .grpc.pb.cc
                      PLUGIN "protoc-gen-grpc=$<TARGET_FILE:gRPC::grpc_cpp_plugin>")
  endif()
  set_target_properties(${ARG_NAME} PROPERTIES POSITION_INDEPENDENT_CODE ON)
  add_library(${ARG_ALIAS} ALIAS ${ARG_NAME})
endfunction()
