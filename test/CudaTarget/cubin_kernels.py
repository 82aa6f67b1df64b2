#!/usr/bin/env python3
"""Lists the kernels of every cubin embedded in a kilnc --target=cuda library.

    cubin_kernels.py LIB

Prints one line per embedded CUDA ELF image: "cubin sm_<N>: kernel kernel ...",
the architecture from the ELF header's e_flags, the kernels from its
.text.<name> sections (sorted), so tests can check which image holds which
kernel without a GPU or cuobjdump.
"""
import struct
import sys

EM_CUDA = 190


def section_names(blob, start):
    shoff = struct.unpack_from("<Q", blob, start + 0x28)[0]
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", blob, start + 0x3A)
    def header(i):
        return struct.unpack_from("<IIQQQQ", blob, start + shoff + i * shentsize)
    strtab = header(shstrndx)
    names_at = start + strtab[4]
    for i in range(shnum):
        name_offset = header(i)[0]
        end = blob.index(b"\0", names_at + name_offset)
        yield blob[names_at + name_offset:end].decode()


def main():
    blob = open(sys.argv[1], "rb").read()
    start = blob.find(b"\x7fELF", 1)
    while start >= 0:
        if struct.unpack_from("<H", blob, start + 18)[0] == EM_CUDA:
            flags = struct.unpack_from("<I", blob, start + 0x30)[0]
            kernels = sorted(name[len(".text."):] for name in section_names(blob, start)
                             if name.startswith(".text."))
            print(f"cubin sm_{(flags >> 8) & 0xff}: {' '.join(kernels)}")
        start = blob.find(b"\x7fELF", start + 4)


if __name__ == "__main__":
    main()
