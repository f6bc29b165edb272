//go:build amd64 && !purego

#include "textflag.h"

// func kernelAVX2(k int, a *float32, rsa, csa int, b *float32, rsb int, c *float32, ldc int, alpha, beta float32)
//
// Computes the 6×16 tile C = alpha·(A·B) + beta·C, where A(i,p) is at
// a[i*rsa+p*csa], B(p,j) at b[p*rsb+j] (16 contiguous floats per p) and
// C(i,j) at c[i*ldc+j]. When beta is ±0, C is not read. k ≥ 1.
// Accumulators: Y0..Y11 (row r in Y(2r), Y(2r+1)); B rows in Y12, Y13;
// A broadcasts in Y14, Y15.
TEXT ·kernelAVX2(SB), NOSPLIT, $0-72
	MOVQ k+0(FP), CX
	MOVQ a+8(FP), R10
	MOVQ rsa+16(FP), R8
	MOVQ csa+24(FP), R13
	MOVQ b+32(FP), SI
	MOVQ rsb+40(FP), DX
	SHLQ $2, R8
	SHLQ $2, R13
	SHLQ $2, DX
	LEAQ (R8)(R8*2), R9   // 3*rsa bytes
	LEAQ (R10)(R9*1), R12 // row 3 of A

	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11

loop:
	VMOVUPS (SI), Y12
	VMOVUPS 32(SI), Y13
	VBROADCASTSS (R10), Y14
	VBROADCASTSS (R10)(R8*1), Y15
	VFMADD231PS Y12, Y14, Y0
	VFMADD231PS Y13, Y14, Y1
	VFMADD231PS Y12, Y15, Y2
	VFMADD231PS Y13, Y15, Y3
	VBROADCASTSS (R10)(R8*2), Y14
	VBROADCASTSS (R12), Y15
	VFMADD231PS Y12, Y14, Y4
	VFMADD231PS Y13, Y14, Y5
	VFMADD231PS Y12, Y15, Y6
	VFMADD231PS Y13, Y15, Y7
	VBROADCASTSS (R12)(R8*1), Y14
	VBROADCASTSS (R12)(R8*2), Y15
	VFMADD231PS Y12, Y14, Y8
	VFMADD231PS Y13, Y14, Y9
	VFMADD231PS Y12, Y15, Y10
	VFMADD231PS Y13, Y15, Y11
	ADDQ R13, R10
	ADDQ R13, R12
	ADDQ DX, SI
	DECQ CX
	JNZ  loop

	MOVQ c+48(FP), DI
	MOVQ ldc+56(FP), BX
	SHLQ $2, BX
	LEAQ (BX)(BX*2), R9
	LEAQ (DI)(R9*1), R11 // row 3 of C
	VBROADCASTSS alpha+64(FP), Y14
	VMULPS Y14, Y0, Y0
	VMULPS Y14, Y1, Y1
	VMULPS Y14, Y2, Y2
	VMULPS Y14, Y3, Y3
	VMULPS Y14, Y4, Y4
	VMULPS Y14, Y5, Y5
	VMULPS Y14, Y6, Y6
	VMULPS Y14, Y7, Y7
	VMULPS Y14, Y8, Y8
	VMULPS Y14, Y9, Y9
	VMULPS Y14, Y10, Y10
	VMULPS Y14, Y11, Y11
	MOVL beta+68(FP), AX
	ANDL $0x7fffffff, AX
	JZ   store

	VBROADCASTSS beta+68(FP), Y15
	VFMADD231PS (DI), Y15, Y0
	VFMADD231PS 32(DI), Y15, Y1
	VFMADD231PS (DI)(BX*1), Y15, Y2
	VFMADD231PS 32(DI)(BX*1), Y15, Y3
	VFMADD231PS (DI)(BX*2), Y15, Y4
	VFMADD231PS 32(DI)(BX*2), Y15, Y5
	VFMADD231PS (R11), Y15, Y6
	VFMADD231PS 32(R11), Y15, Y7
	VFMADD231PS (R11)(BX*1), Y15, Y8
	VFMADD231PS 32(R11)(BX*1), Y15, Y9
	VFMADD231PS (R11)(BX*2), Y15, Y10
	VFMADD231PS 32(R11)(BX*2), Y15, Y11

store:
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, (DI)(BX*1)
	VMOVUPS Y3, 32(DI)(BX*1)
	VMOVUPS Y4, (DI)(BX*2)
	VMOVUPS Y5, 32(DI)(BX*2)
	VMOVUPS Y6, (R11)
	VMOVUPS Y7, 32(R11)
	VMOVUPS Y8, (R11)(BX*1)
	VMOVUPS Y9, 32(R11)(BX*1)
	VMOVUPS Y10, (R11)(BX*2)
	VMOVUPS Y11, 32(R11)(BX*2)
	VZEROUPPER
	RET

// Load rows B0+0..3·R8 and B1+0..3·R8 (8 floats each) into Y0..Y7,
// transpose the 8×8 block and store row q at q*64(DI) (stride nr floats).
#define TRANSPOSE8(B0, B1) \
	VMOVUPS (B0), Y0; \
	VMOVUPS (B0)(R8*1), Y1; \
	VMOVUPS (B0)(R8*2), Y2; \
	VMOVUPS (B0)(R9*1), Y3; \
	VMOVUPS (B1), Y4; \
	VMOVUPS (B1)(R8*1), Y5; \
	VMOVUPS (B1)(R8*2), Y6; \
	VMOVUPS (B1)(R9*1), Y7; \
	VUNPCKLPS Y1, Y0, Y8; \
	VUNPCKHPS Y1, Y0, Y9; \
	VUNPCKLPS Y3, Y2, Y10; \
	VUNPCKHPS Y3, Y2, Y11; \
	VUNPCKLPS Y5, Y4, Y12; \
	VUNPCKHPS Y5, Y4, Y13; \
	VUNPCKLPS Y7, Y6, Y14; \
	VUNPCKHPS Y7, Y6, Y15; \
	VSHUFPS $0x44, Y10, Y8, Y0; \
	VSHUFPS $0xEE, Y10, Y8, Y1; \
	VSHUFPS $0x44, Y11, Y9, Y2; \
	VSHUFPS $0xEE, Y11, Y9, Y3; \
	VSHUFPS $0x44, Y14, Y12, Y4; \
	VSHUFPS $0xEE, Y14, Y12, Y5; \
	VSHUFPS $0x44, Y15, Y13, Y6; \
	VSHUFPS $0xEE, Y15, Y13, Y7; \
	VPERM2F128 $0x20, Y4, Y0, Y8; \
	VPERM2F128 $0x20, Y5, Y1, Y9; \
	VPERM2F128 $0x20, Y6, Y2, Y10; \
	VPERM2F128 $0x20, Y7, Y3, Y11; \
	VPERM2F128 $0x31, Y4, Y0, Y12; \
	VPERM2F128 $0x31, Y5, Y1, Y13; \
	VPERM2F128 $0x31, Y6, Y2, Y14; \
	VPERM2F128 $0x31, Y7, Y3, Y15; \
	VMOVUPS Y8, (DI); \
	VMOVUPS Y9, 64(DI); \
	VMOVUPS Y10, 128(DI); \
	VMOVUPS Y11, 192(DI); \
	VMOVUPS Y12, 256(DI); \
	VMOVUPS Y13, 320(DI); \
	VMOVUPS Y14, 384(DI); \
	VMOVUPS Y15, 448(DI)

// func transpose8AVX2(d *float32, b *float32, csb int, nblk int)
//
// For q = 0..8·nblk-1 and j = 0..7: d[q*16+j] = b[j*csb+q]. Packs eight
// columns of a transposed B into a 16-wide panel, eight p at a time.
TEXT ·transpose8AVX2(SB), NOSPLIT, $0-32
	MOVQ d+0(FP), DI
	MOVQ b+8(FP), SI
	MOVQ csb+16(FP), R8
	MOVQ nblk+24(FP), CX
	SHLQ $2, R8
	LEAQ (R8)(R8*2), R9   // 3 rows
	LEAQ (SI)(R8*4), R10  // row 4

tloop:
	TRANSPOSE8(SI, R10)
	ADDQ $32, SI
	ADDQ $32, R10
	ADDQ $512, DI
	DECQ CX
	JNZ  tloop
	VZEROUPPER
	RET

// Six-row helpers of the AVX-512 kernels. ZERO6 clears six accumulators;
// FMA6 adds B (a ZMM register) times the A elements of six rows — P,
// P+R8, P+2·R8, Q, Q+R8, Q+2·R8, each broadcast from memory — into them;
// ALPHA6 scales them by the broadcast alpha in S; BETA6 adds beta (in S)
// times the six C rows at P, P+BX, P+2·BX, Q, Q+BX, Q+2·BX; STORE6
// writes them there.
#define ZERO6(Z0, Z1, Z2, Z3, Z4, Z5) \
	VPXORD Z0, Z0, Z0; \
	VPXORD Z1, Z1, Z1; \
	VPXORD Z2, Z2, Z2; \
	VPXORD Z3, Z3, Z3; \
	VPXORD Z4, Z4, Z4; \
	VPXORD Z5, Z5, Z5

#define FMA6(B, P, Q, Z0, Z1, Z2, Z3, Z4, Z5) \
	VFMADD231PS.BCST (P), B, Z0; \
	VFMADD231PS.BCST (P)(R8*1), B, Z1; \
	VFMADD231PS.BCST (P)(R8*2), B, Z2; \
	VFMADD231PS.BCST (Q), B, Z3; \
	VFMADD231PS.BCST (Q)(R8*1), B, Z4; \
	VFMADD231PS.BCST (Q)(R8*2), B, Z5

#define ALPHA6(S, Z0, Z1, Z2, Z3, Z4, Z5) \
	VMULPS S, Z0, Z0; \
	VMULPS S, Z1, Z1; \
	VMULPS S, Z2, Z2; \
	VMULPS S, Z3, Z3; \
	VMULPS S, Z4, Z4; \
	VMULPS S, Z5, Z5

#define BETA6(S, P, Q, Z0, Z1, Z2, Z3, Z4, Z5) \
	VFMADD231PS (P), S, Z0; \
	VFMADD231PS (P)(BX*1), S, Z1; \
	VFMADD231PS (P)(BX*2), S, Z2; \
	VFMADD231PS (Q), S, Z3; \
	VFMADD231PS (Q)(BX*1), S, Z4; \
	VFMADD231PS (Q)(BX*2), S, Z5

#define STORE6(P, Q, Z0, Z1, Z2, Z3, Z4, Z5) \
	VMOVUPS Z0, (P); \
	VMOVUPS Z1, (P)(BX*1); \
	VMOVUPS Z2, (P)(BX*2); \
	VMOVUPS Z3, (Q); \
	VMOVUPS Z4, (Q)(BX*1); \
	VMOVUPS Z5, (Q)(BX*2)

// func kernelAVX512(k int, a *float32, rsa, csa int, b *float32, rsb int, c *float32, ldc int, alpha, beta float32)
//
// The contract of kernelAVX2 (same 6×16 tile, same operand layout) with
// one ZMM register per tile row: Z0..Z5 accumulate rows 0..5, Z6 holds the
// B row, and each FMA broadcasts its A element from memory. Every element
// sees exactly kernelAVX2's sequence of rounded operations (one FMA per p
// in order from zero, alpha·sum, then one FMA with beta·C), so the two
// kernels give identical bits.
TEXT ·kernelAVX512(SB), NOSPLIT, $0-72
	MOVQ k+0(FP), CX
	MOVQ a+8(FP), R10
	MOVQ rsa+16(FP), R8
	MOVQ csa+24(FP), R13
	MOVQ b+32(FP), SI
	MOVQ rsb+40(FP), DX
	SHLQ $2, R8
	SHLQ $2, R13
	SHLQ $2, DX
	LEAQ (R8)(R8*2), R9   // 3*rsa bytes
	LEAQ (R10)(R9*1), R12 // row 3 of A
	ZERO6(Z0, Z1, Z2, Z3, Z4, Z5)

zloop:
	VMOVUPS (SI), Z6
	FMA6(Z6, R10, R12, Z0, Z1, Z2, Z3, Z4, Z5)
	ADDQ R13, R10
	ADDQ R13, R12
	ADDQ DX, SI
	DECQ CX
	JNZ  zloop

	MOVQ c+48(FP), DI
	MOVQ ldc+56(FP), BX
	SHLQ $2, BX
	LEAQ (BX)(BX*2), R9
	LEAQ (DI)(R9*1), R11 // row 3 of C
	VBROADCASTSS alpha+64(FP), Z7
	ALPHA6(Z7, Z0, Z1, Z2, Z3, Z4, Z5)
	MOVL beta+68(FP), AX
	ANDL $0x7fffffff, AX
	JZ   zstore
	VBROADCASTSS beta+68(FP), Z8
	BETA6(Z8, DI, R11, Z0, Z1, Z2, Z3, Z4, Z5)

zstore:
	STORE6(DI, R11, Z0, Z1, Z2, Z3, Z4, Z5)
	VZEROUPPER
	RET

// func kernelAVX512x2(k int, a0, a1 *float32, rsa, csa int, b *float32, rsb int, c *float32, ldc int, alpha, beta float32)
//
// Two vertically adjacent 6×16 tiles in one pass: rows 0..5 of A at a0,
// rows 6..11 at a1 (same strides), C rows 0..11 at c, c+ldc, …. Twelve
// accumulator chains (Z0..Z11) keep both FMA pipes busy where the 6-row
// kernel's six chains cannot; each element still sees kernelAVX2's exact
// sequence of operations.
TEXT ·kernelAVX512x2(SB), NOSPLIT, $0-80
	MOVQ k+0(FP), CX
	MOVQ a0+8(FP), R10
	MOVQ a1+16(FP), R11
	MOVQ rsa+24(FP), R8
	MOVQ csa+32(FP), R13
	MOVQ b+40(FP), SI
	MOVQ rsb+48(FP), DX
	SHLQ $2, R8
	SHLQ $2, R13
	SHLQ $2, DX
	LEAQ (R8)(R8*2), AX   // 3*rsa bytes
	LEAQ (R10)(AX*1), R12 // row 3 of A
	LEAQ (R11)(AX*1), R9  // row 9 of A
	ZERO6(Z0, Z1, Z2, Z3, Z4, Z5)
	ZERO6(Z6, Z7, Z8, Z9, Z10, Z11)

z2loop:
	VMOVUPS (SI), Z12
	FMA6(Z12, R10, R12, Z0, Z1, Z2, Z3, Z4, Z5)
	FMA6(Z12, R11, R9, Z6, Z7, Z8, Z9, Z10, Z11)
	ADDQ R13, R10
	ADDQ R13, R12
	ADDQ R13, R11
	ADDQ R13, R9
	ADDQ DX, SI
	DECQ CX
	JNZ  z2loop

	MOVQ c+56(FP), DI
	MOVQ ldc+64(FP), BX
	SHLQ $2, BX
	LEAQ (BX)(BX*2), AX
	LEAQ (DI)(AX*1), R11  // row 3 of C
	LEAQ (R11)(AX*1), R12 // row 6
	LEAQ (R12)(AX*1), R9  // row 9
	VBROADCASTSS alpha+72(FP), Z13
	ALPHA6(Z13, Z0, Z1, Z2, Z3, Z4, Z5)
	ALPHA6(Z13, Z6, Z7, Z8, Z9, Z10, Z11)
	MOVL beta+76(FP), AX
	ANDL $0x7fffffff, AX
	JZ   z2store
	VBROADCASTSS beta+76(FP), Z14
	BETA6(Z14, DI, R11, Z0, Z1, Z2, Z3, Z4, Z5)
	BETA6(Z14, R12, R9, Z6, Z7, Z8, Z9, Z10, Z11)

z2store:
	STORE6(DI, R11, Z0, Z1, Z2, Z3, Z4, Z5)
	STORE6(R12, R9, Z6, Z7, Z8, Z9, Z10, Z11)
	VZEROUPPER
	RET
