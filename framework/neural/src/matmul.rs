//! Matrix products of the CPU paths (BERT's, PatchTST's), by the `gemm`
//! crate (the one burn's `flex` backend uses), with its AVX-512 kernels
//! enabled: it picks AVX-512, AVX2 + FMA or portable kernels at run time.
//! [`matmul`] is single-threaded on purpose: callers split work into pieces
//! that rayon runs in parallel, so a piece's numbers never depend on the
//! thread count. [`par_rows`] and [`par_weight_gradient`] are two such
//! splits, into pieces of fixed size.

use rayon::prelude::*;

/// A row-major matrix view: the slice and its row stride; `transposed`
/// reads it as its transpose.
#[derive(Debug, Clone, Copy)]
pub struct View<'a> {
    pub data: &'a [f32],
    pub row_stride: usize,
    pub transposed: bool,
}

impl<'a> View<'a> {
    pub fn rows(data: &'a [f32], row_stride: usize) -> Self {
        View {
            data,
            row_stride,
            transposed: false,
        }
    }

    pub fn t(self) -> Self {
        View {
            transposed: !self.transposed,
            ..self
        }
    }

    /// `(row, column)` strides of the matrix as read.
    fn strides(&self) -> (usize, usize) {
        match self.transposed {
            false => (self.row_stride, 1),
            true => (1, self.row_stride),
        }
    }
}

/// `c[m×n] = a[m×k] · b[k×n]`, plus the old `c` if `accumulate`; `c` has
/// row stride `ldc`.
#[allow(clippy::too_many_arguments)]
pub fn matmul(m: usize, k: usize, n: usize, a: View<'_>, b: View<'_>, c: &mut [f32], ldc: usize, accumulate: bool) {
    if m == 0 || n == 0 {
        return;
    }
    let (rsa, csa) = a.strides();
    let (rsb, csb) = b.strides();
    let last = |rows: usize, cols: usize, rs: usize, cs: usize| (rows - 1) * rs + (cols - 1) * cs;
    if k == 0 {
        if !accumulate {
            for r in 0..m {
                c[r * ldc..r * ldc + n].fill(0.0);
            }
        }
        return;
    }
    assert!(a.data.len() > last(m, k, rsa, csa) && b.data.len() > last(k, n, rsb, csb));
    assert!(c.len() > last(m, n, ldc, 1));
    // SAFETY: the asserts above keep every access inside the slices.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            1,
            ldc as isize,
            accumulate,
            a.data.as_ptr(),
            csa as isize,
            rsa as isize,
            b.data.as_ptr(),
            csb as isize,
            rsb as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        )
    }
}

/// Rows of the output per parallel piece of [`par_rows`].
const PIECE_ROWS: usize = 512;
/// Rows of a weight gradient per parallel piece of [`par_weight_gradient`].
const PIECE_INPUTS: usize = 64;

/// `c [n×m] = a [n×k] · b [k×m]` (plus the old `c` if `accumulate`), the
/// rows of `c` in parallel pieces.
pub fn par_rows(k: usize, m: usize, a: &[f32], b: View<'_>, c: &mut [f32], accumulate: bool) {
    if m == 0 {
        return;
    }
    c.par_chunks_mut(PIECE_ROWS * m)
        .zip(a.par_chunks(PIECE_ROWS * k.max(1)))
        .for_each(|(c, a)| matmul(c.len() / m, k, m, View::rows(a, k), b, c, m, accumulate));
}

/// `dw [k×m] += xᵀ dy` over all rows of `x [n×k]` and `dy [n×m]`, the rows
/// of `dw` in parallel pieces; `db [m] +=` the column sums of `dy`.
pub fn par_weight_gradient(x: &[f32], k: usize, dy: &[f32], m: usize, dw: &mut [f32], db: &mut [f32]) {
    if k == 0 || m == 0 {
        return;
    }
    let n = dy.len() / m;
    dw.par_chunks_mut(PIECE_INPUTS * m).enumerate().for_each(|(piece, dw)| {
        let first = piece * PIECE_INPUTS;
        matmul(
            dw.len() / m,
            n,
            m,
            View::rows(&x[first..], k).t(),
            View::rows(dy, m),
            dw,
            m,
            true,
        );
    });
    crate::fastmath::with_best_isa(|| {
        for row in dy.chunks_exact(m) {
            for (b, g) in db.iter_mut().zip(row) {
                *b += g;
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn products_match_the_definition_in_every_orientation() {
        let (m, k, n) = (5, 7, 3);
        let a: Vec<f32> = (0..m * k).map(|i| (i % 5) as f32 - 2.0).collect();
        let b: Vec<f32> = (0..k * n).map(|i| (i % 7) as f32 * 0.5).collect();
        let at: Vec<f32> = (0..k * m).map(|i| a[(i % m) * k + i / m]).collect();
        let bt: Vec<f32> = (0..n * k).map(|i| b[(i % k) * n + i / k]).collect();
        let want: Vec<f32> = (0..m * n)
            .map(|i| (0..k).map(|p| a[(i / n) * k + p] * b[p * n + i % n]).sum())
            .collect();
        for (va, vb) in [
            (View::rows(&a, k), View::rows(&b, n)),
            (View::rows(&at, m).t(), View::rows(&bt, k).t()),
        ] {
            let mut c = vec![1.0; m * n];
            matmul(m, k, n, va, vb, &mut c, n, false);
            assert_eq!(c, want);
            matmul(m, k, n, va, vb, &mut c, n, true);
            assert_eq!(c, want.iter().map(|v| 2.0 * v).collect::<Vec<_>>());
        }
    }

    #[test]
    fn parallel_pieces_add_up_to_the_whole_product() {
        let (n, k, m) = (600, 70, 5);
        let x: Vec<f32> = (0..n * k).map(|i| ((i * 7) % 11) as f32 - 5.0).collect();
        let w: Vec<f32> = (0..k * m).map(|i| ((i * 3) % 5) as f32 * 0.25).collect();
        let dy: Vec<f32> = (0..n * m).map(|i| ((i * 5) % 9) as f32 - 4.0).collect();
        let mut y = vec![0.0; n * m];
        par_rows(k, m, &x, View::rows(&w, m), &mut y, false);
        for (i, v) in y.iter().enumerate() {
            let want: f32 = (0..k).map(|p| x[(i / m) * k + p] * w[p * m + i % m]).sum();
            assert_eq!(*v, want, "y[{i}]");
        }
        let (mut dw, mut db) = (vec![1.0; k * m], vec![1.0; m]);
        par_weight_gradient(&x, k, &dy, m, &mut dw, &mut db);
        for (i, v) in dw.iter().enumerate() {
            let want: f32 = 1.0 + (0..n).map(|t| x[t * k + i / m] * dy[t * m + i % m]).sum::<f32>();
            assert_eq!(*v, want, "dw[{i}]");
        }
        for (c, v) in db.iter().enumerate() {
            assert_eq!(*v, 1.0 + (0..n).map(|t| dy[t * m + c]).sum::<f32>(), "db[{c}]");
        }
    }
}
