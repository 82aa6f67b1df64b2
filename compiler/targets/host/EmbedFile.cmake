# Turns INPUT into a C++ initializer in OUTPUT: MODE=bytes gives
# "0x..,0x..," (for an unsigned char array), MODE=string a raw string literal.
# Run as: cmake -DINPUT=... -DOUTPUT=... -DMODE=... -P EmbedFile.cmake
if(MODE STREQUAL "bytes")
  file(READ "${INPUT}" hex HEX)
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
  string(REGEX REPLACE "(0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,)"
         "\\1\n" bytes "${bytes}")
  file(WRITE "${OUTPUT}" "${bytes}\n")
else()
  file(READ "${INPUT}" text)
  file(WRITE "${OUTPUT}" "R\"kiln_embed(${text})kiln_embed\"\n")
endif()
