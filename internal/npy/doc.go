// Package npy reads NumPy's .npy array files and .npz archives of them,
// the formats numpy.save and numpy.savez write.
//
// # Format
//
// A .npy file is the magic "\x93NUMPY", a major and minor version byte, a
// little-endian header length (2 bytes in version 1, 4 bytes in versions
// 2 and 3), and a header that is a Python dict literal such as
//
//	{'descr': '<f4', 'fortran_order': False, 'shape': (10, 1, 28, 28), }
//
// followed by the elements in C (row-major) order. An .npz file is a zip
// archive of .npy members named KEY.npy, stored or deflated.
//
// Only what data sets need is read: the element types float32, float64,
// uint8, int8, int16, int32 and int64 (either byte order), in C order.
// Fortran-order arrays, object arrays, structured dtypes and pickles are
// refused with an error that says how to save the array instead.
//
// # Limits
//
// The header length is at most MaxHeader bytes and the declared payload
// at most the caller's byte limit; both are checked, without overflow,
// before anything is allocated, and the buffer grows with the bytes
// actually read, so a short file with a huge header costs little. Data
// after the payload is an error. Errors name the file (an archive member
// as "archive.npz:member.npy") and, where known, the byte offset.
package npy
