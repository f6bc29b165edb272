//go:build amd64 && !purego

#include "textflag.h"

// func add(dst, src *float32, n int)
//
// For i < n: dst[i] += src[i], one VADDPS/VADDSS lane per element (the
// same IEEE single-precision addition as Go's scalar +). dst[i] is the
// first source operand, as in dst[i] + src[i]. n ≥ 0. Blocks of 32, then
// 8, then 4 floats, then single floats; loads and stores are unaligned.
// Without AVX (hasAVX false) it tail-jumps to the pure-Go addGo, which has
// the same signature.
TEXT ·add(SB), NOSPLIT, $0-24
	CMPB ·hasAVX(SB), $0
	JEQ  fallback
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	CMPQ CX, $32
	JB   tail8

loop32:
	VMOVUPS (DI), Y0
	VMOVUPS 32(DI), Y1
	VMOVUPS 64(DI), Y2
	VMOVUPS 96(DI), Y3
	VADDPS  (SI), Y0, Y0
	VADDPS  32(SI), Y1, Y1
	VADDPS  64(SI), Y2, Y2
	VADDPS  96(SI), Y3, Y3
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	ADDQ    $128, DI
	ADDQ    $128, SI
	SUBQ    $32, CX
	CMPQ    CX, $32
	JAE     loop32

tail8:
	CMPQ CX, $8
	JB   tail4

loop8:
	VMOVUPS (DI), Y0
	VADDPS  (SI), Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ    $32, DI
	ADDQ    $32, SI
	SUBQ    $8, CX
	CMPQ    CX, $8
	JAE     loop8

tail4:
	CMPQ CX, $4
	JB   tail1
	VMOVUPS (DI), X0
	VADDPS  (SI), X0, X0
	VMOVUPS X0, (DI)
	ADDQ    $16, DI
	ADDQ    $16, SI
	SUBQ    $4, CX

tail1:
	TESTQ CX, CX
	JZ    done

loop1:
	VMOVSS (DI), X0
	VADDSS (SI), X0, X0
	VMOVSS X0, (DI)
	ADDQ   $4, DI
	ADDQ   $4, SI
	DECQ   CX
	JNZ    loop1

done:
	VZEROUPPER
	RET

fallback:
	JMP ·addGo(SB)

// func integrateAVX(u, cur, row *float32, e *int32, n int, dt, theta float32) int
//
// Integrate on blocks of 8 channels, while 8 are left (n ≥ 8 on entry):
// un = u + (dt·cur) with VMULPS then VADDPS (two roundings, as Go's
// uo + dt*ic without FMA); if some lane has un ≥ theta (ordered: NaN is
// not ≥) and e < 0 (the sign bit of the int32), the block is left
// untouched and the count so far returned. Otherwise u = un,
// cur = cur + row, row = +0.
TEXT ·integrateAVX(SB), NOSPLIT, $0-56
	MOVQ         u+0(FP), DI
	MOVQ         cur+8(FP), SI
	MOVQ         row+16(FP), DX
	MOVQ         e+24(FP), R8
	MOVQ         n+32(FP), CX
	VBROADCASTSS dt+40(FP), Y6
	VBROADCASTSS theta+44(FP), Y7
	VXORPS       Y5, Y5, Y5
	XORQ         AX, AX

iloop:
	LEAQ      8(AX), R9
	CMPQ      R9, CX
	JA        idone
	VMOVUPS   (SI)(AX*4), Y1      // ic
	VMOVUPS   (DI)(AX*4), Y0      // uo
	VMULPS    Y6, Y1, Y2          // dt·ic
	VADDPS    Y2, Y0, Y2          // un = uo + dt·ic
	VCMPPS    $0x1d, Y7, Y2, Y3   // un ≥ theta (GE_OQ)
	VMOVMSKPS Y3, R10
	VMOVUPS   (R8)(AX*4), Y4      // e, as floats: only the sign bits matter
	VMOVMSKPS Y4, R11
	ANDL      R11, R10
	JNZ       idone
	VMOVUPS   Y2, (DI)(AX*4)
	VADDPS    (DX)(AX*4), Y1, Y1  // ic + row
	VMOVUPS   Y1, (SI)(AX*4)
	VMOVUPS   Y5, (DX)(AX*4)
	MOVQ      R9, AX
	JMP       iloop

idone:
	MOVQ AX, ret+48(FP)
	VZEROUPPER
	RET
