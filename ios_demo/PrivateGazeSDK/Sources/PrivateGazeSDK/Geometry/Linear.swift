import Foundation

/// A 3-vector of doubles. The SDK's geometry is plain Swift rather than simd so that it builds, and its tests run,
/// wherever a Swift toolchain does; double precision keeps it within rounding of the Python reference (numpy float64).
public struct Vector3: Equatable, Sendable {
    public var x: Double
    public var y: Double
    public var z: Double

    public init(_ x: Double, _ y: Double, _ z: Double) {
        self.x = x
        self.y = y
        self.z = z
    }

    public static let zero = Vector3(0, 0, 0)

    public var norm: Double { (x * x + y * y + z * z).squareRoot() }
    public var isFinite: Bool { x.isFinite && y.isFinite && z.isFinite }

    public func dot(_ other: Vector3) -> Double { x * other.x + y * other.y + z * other.z }

    public func cross(_ other: Vector3) -> Vector3 {
        Vector3(y * other.z - z * other.y, z * other.x - x * other.z, x * other.y - y * other.x)
    }

    public static func + (a: Vector3, b: Vector3) -> Vector3 { Vector3(a.x + b.x, a.y + b.y, a.z + b.z) }
    public static func - (a: Vector3, b: Vector3) -> Vector3 { Vector3(a.x - b.x, a.y - b.y, a.z - b.z) }
    public static func * (s: Double, v: Vector3) -> Vector3 { Vector3(s * v.x, s * v.y, s * v.z) }
    public static func / (v: Vector3, s: Double) -> Vector3 { Vector3(v.x / s, v.y / s, v.z / s) }
    public static prefix func - (v: Vector3) -> Vector3 { Vector3(-v.x, -v.y, -v.z) }

    /// Component `index` (0, 1, 2).
    subscript(index: Int) -> Double {
        switch index {
        case 0: return x
        case 1: return y
        default: return z
        }
    }
}

/// A 2-D point in pixels; image coordinates put pixel centres at integers (OpenCV), x right, y down.
public struct Point2: Equatable, Sendable {
    public var x: Double
    public var y: Double

    public init(_ x: Double, _ y: Double) {
        self.x = x
        self.y = y
    }
}

/// A 3x3 matrix of doubles, row-major.
public struct Matrix3: Equatable, Sendable {
    /// Entries row by row: `entries[3 * row + column]`.
    public private(set) var entries: [Double]

    /// The matrix with these rows.
    public init(rows r0: Vector3, _ r1: Vector3, _ r2: Vector3) {
        entries = [r0.x, r0.y, r0.z, r1.x, r1.y, r1.z, r2.x, r2.y, r2.z]
    }

    /// The matrix with these columns.
    public init(columns c0: Vector3, _ c1: Vector3, _ c2: Vector3) {
        entries = [c0.x, c1.x, c2.x, c0.y, c1.y, c2.y, c0.z, c1.z, c2.z]
    }

    /// The matrix of nine row-major entries.
    ///
    /// - Throws: `PrivateGazeError.geometry` for another count or a non-finite entry.
    public init(rowMajor values: [Double]) throws {
        guard values.count == 9, values.allSatisfy(\.isFinite) else {
            throw PrivateGazeError.geometry("a 3x3 matrix needs 9 finite row-major entries, got \(values)")
        }
        entries = values
    }

    public static let identity = Matrix3(rows: Vector3(1, 0, 0), Vector3(0, 1, 0), Vector3(0, 0, 1))

    public static func diagonal(_ a: Double, _ b: Double, _ c: Double) -> Matrix3 {
        Matrix3(rows: Vector3(a, 0, 0), Vector3(0, b, 0), Vector3(0, 0, c))
    }

    public subscript(row: Int, column: Int) -> Double {
        get { entries[3 * row + column] }
        set { entries[3 * row + column] = newValue }
    }

    public func row(_ index: Int) -> Vector3 {
        Vector3(entries[3 * index], entries[3 * index + 1], entries[3 * index + 2])
    }

    public func column(_ index: Int) -> Vector3 {
        Vector3(entries[index], entries[3 + index], entries[6 + index])
    }

    public var transposed: Matrix3 { Matrix3(columns: row(0), row(1), row(2)) }

    public var determinant: Double { row(0).dot(row(1).cross(row(2))) }

    public var isFinite: Bool { entries.allSatisfy(\.isFinite) }

    /// The inverse, or nil for a singular matrix.
    public var inverse: Matrix3? {
        let det = determinant
        guard det.isFinite, abs(det) > 1e-300 else { return nil }
        // The columns of the adjugate are the cross products of the rows.
        let adjugate = Matrix3(columns: row(1).cross(row(2)), row(2).cross(row(0)), row(0).cross(row(1)))
        return (1 / det) * adjugate
    }

    public static func * (a: Matrix3, b: Matrix3) -> Matrix3 {
        let columns = (0..<3).map { a * b.column($0) }
        return Matrix3(columns: columns[0], columns[1], columns[2])
    }

    public static func * (m: Matrix3, v: Vector3) -> Vector3 {
        Vector3(m.row(0).dot(v), m.row(1).dot(v), m.row(2).dot(v))
    }

    public static func * (s: Double, m: Matrix3) -> Matrix3 {
        var scaled = m
        scaled.entries = m.entries.map { s * $0 }
        return scaled
    }

    public static func + (a: Matrix3, b: Matrix3) -> Matrix3 {
        var sum = a
        sum.entries = zip(a.entries, b.entries).map { $0 + $1 }
        return sum
    }

    /// The skew-symmetric matrix of `v`, so that `skew(v) * w == v.cross(w)`.
    static func skew(_ v: Vector3) -> Matrix3 {
        Matrix3(rows: Vector3(0, -v.z, v.y), Vector3(v.z, 0, -v.x), Vector3(-v.y, v.x, 0))
    }

    /// The rotation by `|v|` radians about `v` (Rodrigues' formula), as `geometry._rodrigues` computes it.
    static func rodrigues(_ v: Vector3) -> Matrix3 {
        let angle = v.norm
        if angle < 1e-12 { return .identity }
        let k = skew(v / angle)
        return identity + sin(angle) * k + (1 - cos(angle)) * (k * k)
    }
}

/// Small dense linear algebra for the pose solver: what numpy's `linalg.solve` and `linalg.svd` do for it.
enum DenseLinearAlgebra {
    /// The solution of `a x = b` for a square `a`, by Gaussian elimination with partial pivoting; nil when singular.
    static func solve(_ a: [[Double]], _ b: [Double]) -> [Double]? {
        let n = b.count
        guard a.count == n, a.allSatisfy({ $0.count == n }) else { return nil }
        var m = a
        var rhs = b
        for column in 0..<n {
            var pivot = column
            for row in column + 1..<n where abs(m[row][column]) > abs(m[pivot][column]) {
                pivot = row
            }
            guard abs(m[pivot][column]) > 1e-300, m[pivot][column].isFinite else { return nil }
            if pivot != column {
                m.swapAt(pivot, column)
                rhs.swapAt(pivot, column)
            }
            for row in column + 1..<n {
                let factor = m[row][column] / m[column][column]
                if factor == 0 { continue }
                for k in column..<n {
                    m[row][k] -= factor * m[column][k]
                }
                rhs[row] -= factor * rhs[column]
            }
        }
        var x = [Double](repeating: 0, count: n)
        for row in stride(from: n - 1, through: 0, by: -1) {
            var sum = rhs[row]
            for k in row + 1..<n {
                sum -= m[row][k] * x[k]
            }
            x[row] = sum / m[row][row]
        }
        return x.allSatisfy(\.isFinite) ? x : nil
    }

    /// Eigenvalues and unit eigenvectors (`vectors[i]` belongs to `values[i]`) of a symmetric matrix, by cyclic
    /// Jacobi rotations: slow for large matrices, exact to rounding for the 9x9 and 3x3 ones the pose solver has.
    static func symmetricEigen(_ a: [[Double]]) -> (values: [Double], vectors: [[Double]]) {
        let n = a.count
        var m = a
        var v = (0..<n).map { i in (0..<n).map { j in i == j ? 1.0 : 0.0 } }  // columns are the eigenvectors
        for _ in 0..<100 {
            var off = 0.0
            for p in 0..<n {
                for q in p + 1..<n {
                    off += m[p][q] * m[p][q]
                }
            }
            let scale = m.indices.reduce(0.0) { $0 + m[$1][$1] * m[$1][$1] }
            if off <= 1e-30 * max(scale, 1e-300) { break }
            for p in 0..<n {
                for q in p + 1..<n where m[p][q] != 0 {
                    let theta = (m[q][q] - m[p][p]) / (2 * m[p][q])
                    let t = (theta >= 0 ? 1.0 : -1.0) / (abs(theta) + (theta * theta + 1).squareRoot())
                    let c = 1 / (t * t + 1).squareRoot()
                    let s = t * c
                    for k in 0..<n {  // m <- m J
                        let mkp = m[k][p], mkq = m[k][q]
                        m[k][p] = c * mkp - s * mkq
                        m[k][q] = s * mkp + c * mkq
                    }
                    for k in 0..<n {  // m <- J^T m
                        let mpk = m[p][k], mqk = m[q][k]
                        m[p][k] = c * mpk - s * mqk
                        m[q][k] = s * mpk + c * mqk
                    }
                    for k in 0..<n {  // v <- v J
                        let vkp = v[k][p], vkq = v[k][q]
                        v[k][p] = c * vkp - s * vkq
                        v[k][q] = s * vkp + c * vkq
                    }
                }
            }
        }
        let values = (0..<n).map { m[$0][$0] }
        let vectors = (0..<n).map { column in (0..<n).map { v[$0][column] } }
        return (values, vectors)
    }
}
