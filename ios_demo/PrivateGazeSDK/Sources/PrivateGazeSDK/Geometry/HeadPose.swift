import Foundation

/// A head pose: `rotation * X + translation` is a model point X in camera coordinates (model units, mm).
public struct HeadPose: Equatable, Sendable {
    /// Rotation from head to camera coordinates.
    public var rotation: Matrix3
    public var translation: Vector3
}

/// Head pose from 2-D landmarks: the Perspective-n-Point solver of `privategaze.geometry.estimate_head_pose`, step
/// for step (homography initialization, Levenberg-Marquardt on the reprojection error, and the mirrored pose tried
/// too), so that the phone finds the pose the Python SDK finds for the same landmarks.
public enum HeadPoseEstimator {
    /// The pose of `model` (N >= 4 points, e.g. a manifest's `FaceModel.points`) seen at `landmarks` (pixels, same
    /// order).
    ///
    /// - Throws: `PrivateGazeError.geometry` for malformed input, degenerate landmarks, or when no pose puts the
    ///   face in front of the camera.
    public static func estimate(
        landmarks: [Point2],
        model: [Vector3],
        cameraMatrix: Matrix3,
        distortion: DistortionCoefficients? = nil
    ) throws -> HeadPose {
        guard landmarks.count >= 4, landmarks.count == model.count else {
            throw PrivateGazeError.geometry(
                "need N >= 4 landmarks and as many model points, got \(landmarks.count) and \(model.count)"
            )
        }
        guard landmarks.allSatisfy({ $0.x.isFinite && $0.y.isFinite }), model.allSatisfy(\.isFinite) else {
            throw PrivateGazeError.geometry("landmarks and model points must be finite")
        }
        if let distortion, !distortion.isFinite {
            throw PrivateGazeError.geometry("distortion coefficients must be finite")
        }
        let imagePoints = try undistort(landmarks, cameraMatrix: Camera.checked(cameraMatrix), distortion: distortion)
        let initial = try poseFromHomography(imagePoints: imagePoints, model: model)
        var best = refine(initial, model: model, imagePoints: imagePoints)
        // A flat-ish face seen from afar has two poses of nearly equal reprojection error, the face plane tilted one
        // way or mirrored across the line of sight; noise can trap the descent in the wrong one, so try both.
        let mirrored = refine(mirroredPose(best.pose, model: model), model: model, imagePoints: imagePoints)
        if mirrored.cost < best.cost { best = mirrored }
        guard best.cost.isFinite else {
            throw PrivateGazeError.geometry(
                "no head pose puts the face in front of the camera; check the landmark order (FaceLandmarks6)"
            )
        }
        return best.pose
    }

    /// Pixels -> ideal normalized image coordinates (`geometry._undistort`).
    static func undistort(
        _ points: [Point2], cameraMatrix: Matrix3, distortion: DistortionCoefficients?
    ) throws -> [Point2] {
        guard let inverse = cameraMatrix.inverse else {
            throw PrivateGazeError.geometry("the camera matrix is singular")
        }
        return points.map { point in
            let h = inverse * Vector3(point.x, point.y, 1)
            let distorted = Point2(h.x / h.z, h.y / h.z)
            return distortion?.undistort(distorted) ?? distorted
        }
    }

    /// Initial pose treating the model as planar (z = 0): H ~ [r1 r2 t] from a DLT (`_pose_from_homography`). The
    /// DLT's null vector is the eigenvector of AᵀA with the smallest eigenvalue, which is numpy's last right-singular
    /// vector of A.
    static func poseFromHomography(imagePoints: [Point2], model: [Vector3]) throws -> HeadPose {
        var rows: [[Double]] = []
        for (point, image) in zip(model, imagePoints) {
            let (x, y, u, v) = (point.x, point.y, image.x, image.y)
            rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y, -u])
            rows.append([0, 0, 0, x, y, 1, -v * x, -v * y, -v])
        }
        let normal = (0..<9).map { i in (0..<9).map { j in rows.reduce(0.0) { $0 + $1[i] * $1[j] } } }
        let eigen = DenseLinearAlgebra.symmetricEigen(normal)
        guard let smallest = eigen.values.indices.min(by: { eigen.values[$0] < eigen.values[$1] }) else {
            throw PrivateGazeError.geometry("the landmarks are degenerate; no head pose fits them")
        }
        let homography = try Matrix3(rowMajor: eigen.vectors[smallest])
        let (c0, c1, c2) = (homography.column(0), homography.column(1), homography.column(2))
        var scale = 2 / (c0.norm + c1.norm)
        guard scale.isFinite, rankOfTwoColumns(c0, c1) == 2 else {
            throw PrivateGazeError.geometry(
                "the landmarks are degenerate (coincident or collinear); no head pose fits them"
            )
        }
        if homography[2, 2] * scale < 0 { scale = -scale }  // the face is in front of the camera
        let r1 = scale * c0, r2 = scale * c1
        let rotation = closestRotation(Matrix3(columns: r1, r2, r1.cross(r2)))
        return HeadPose(rotation: rotation, translation: scale * c2)
    }

    /// numpy's `matrix_rank` of the 3x2 matrix [a b]: singular values above `max * 3 * eps` count.
    static func rankOfTwoColumns(_ a: Vector3, _ b: Vector3) -> Int {
        let gram = [[a.dot(a), a.dot(b)], [a.dot(b), b.dot(b)]]
        let singular = DenseLinearAlgebra.symmetricEigen(gram).values.map { max($0, 0).squareRoot() }
        let tolerance = (singular.max() ?? 0) * 3 * Double.ulpOfOne
        return singular.filter { $0 > tolerance }.count
    }

    /// The rotation nearest `m`: `U diag(1, 1, det(U Vᵀ)) Vᵀ` of its SVD `m = U S Vᵀ`, as numpy computes it. From the
    /// eigenvectors v of mᵀm, u_i = m v_i / s_i for the two largest singular values; the third term,
    /// det(U Vᵀ) u_2 v_2ᵀ, equals det(V) (u_0 x u_1) v_2ᵀ whichever sign the SVD gives u_2.
    static func closestRotation(_ m: Matrix3) -> Matrix3 {
        let mtm = m.transposed * m
        let eigen = DenseLinearAlgebra.symmetricEigen((0..<3).map { i in (0..<3).map { mtm[i, $0] } })
        let order = eigen.values.indices.sorted { eigen.values[$0] > eigen.values[$1] }
        let v = order.map { Vector3(eigen.vectors[$0][0], eigen.vectors[$0][1], eigen.vectors[$0][2]) }
        let u0 = (m * v[0]) / max(eigen.values[order[0]], 0).squareRoot()
        let u1 = (m * v[1]) / max(eigen.values[order[1]], 0).squareRoot()
        let determinantV = Matrix3(columns: v[0], v[1], v[2]).determinant
        return outer(u0, v[0]) + outer(u1, v[1]) + determinantV * outer(u0.cross(u1), v[2])
    }

    static func outer(_ a: Vector3, _ b: Vector3) -> Matrix3 {
        Matrix3(rows: a.x * b, a.y * b, a.z * b)
    }

    /// Sum of squared reprojection errors, infinite when a point is not in front of the camera (`_cost`).
    static func cost(_ pose: HeadPose, model: [Vector3], imagePoints: [Point2]) -> Double {
        var total = 0.0
        for (point, image) in zip(model, imagePoints) {
            let camera = pose.rotation * point + pose.translation
            guard camera.z > 0 else { return .infinity }
            let dx = camera.x / camera.z - image.x, dy = camera.y / camera.z - image.y
            total += dx * dx + dy * dy
        }
        return total
    }

    /// Residuals (2N) and their Jacobian (2N x 6) in a left rotation increment and a translation increment
    /// (`_residuals_and_jacobian`).
    static func residualsAndJacobian(
        _ pose: HeadPose, model: [Vector3], imagePoints: [Point2]
    ) -> (residuals: [Double], jacobian: [[Double]]) {
        var residuals: [Double] = []
        var jacobian: [[Double]] = []
        for (point, image) in zip(model, imagePoints) {
            let rotated = pose.rotation * point
            let camera = rotated + pose.translation
            let (x, y, z) = (camera.x, camera.y, camera.z)
            residuals += [x / z - image.x, y / z - image.y]
            let projection = [[1 / z, 0, -x / (z * z)], [0, 1 / z, -y / (z * z)]]
            // exp([w]) R moves a point by w x (R X) = -[R X]x w; a translation increment moves it by itself.
            let minusSkew = [[0, rotated.z, -rotated.y], [-rotated.z, 0, rotated.x], [rotated.y, -rotated.x, 0]]
            for row in projection {
                let rotationPart = (0..<3).map { j in (0..<3).reduce(0.0) { $0 + row[$1] * minusSkew[$1][j] } }
                jacobian.append(rotationPart + row)
            }
        }
        return (residuals, jacobian)
    }

    /// Levenberg-Marquardt on the reprojection error, the rotation updated by a Rodrigues increment
    /// (`_refine_pose`).
    static func refine(_ start: HeadPose, model: [Vector3], imagePoints: [Point2]) -> (pose: HeadPose, cost: Double) {
        var pose = start
        var current = cost(pose, model: model, imagePoints: imagePoints)
        var damping = 1e-3
        for _ in 0..<100 {
            guard current.isFinite else { break }
            let (residuals, jacobian) = residualsAndJacobian(pose, model: model, imagePoints: imagePoints)
            let normal = (0..<6).map { i in (0..<6).map { j in jacobian.reduce(0.0) { $0 + $1[i] * $1[j] } } }
            let gradient = (0..<6).map { i in zip(jacobian, residuals).reduce(0.0) { $0 + $1.0[i] * $1.1 } }
            var found: (pose: HeadPose, cost: Double, step: [Double])?
            while damping < 1e12 {
                var damped = normal
                for i in 0..<6 {
                    damped[i][i] += damping * (normal[i][i] + 1e-12)
                }
                if let step = DenseLinearAlgebra.solve(damped, gradient.map { -$0 }) {
                    let rotation = Matrix3.rodrigues(Vector3(step[0], step[1], step[2])) * pose.rotation
                    let candidate = HeadPose(
                        rotation: rotation, translation: pose.translation + Vector3(step[3], step[4], step[5])
                    )
                    let candidateCost = cost(candidate, model: model, imagePoints: imagePoints)
                    if candidateCost < current {
                        found = (candidate, candidateCost, step)
                        break
                    }
                }
                damping *= 10
            }
            guard let accepted = found else { break }  // no step lowers the cost: converged
            let stepNorm = accepted.step.reduce(0.0) { $0 + $1 * $1 }.squareRoot()
            let converged = current - accepted.cost <= 1e-15 * max(current, 1e-30) || stepNorm < 1e-12
            pose = accepted.pose
            current = accepted.cost
            damping = max(damping / 10, 1e-9)
            if converged { break }
        }
        return (pose, current)
    }

    /// The pose whose face-plane normal (model z) is mirrored across the line of sight to the model's centroid
    /// (`_mirrored_pose`).
    static func mirroredPose(_ pose: HeadPose, model: [Vector3]) -> HeadPose {
        let mean = model.reduce(Vector3.zero, +) / Double(model.count)
        let centroid = pose.rotation * mean + pose.translation
        let normal = pose.rotation.column(2)
        let sight = centroid / centroid.norm
        let axis = normal.cross(sight)
        let sine = axis.norm
        guard sine >= 1e-9 else { return pose }
        let mirrored = Matrix3.rodrigues((2 * atan2(sine, normal.dot(sight)) / sine) * axis) * pose.rotation
        return HeadPose(rotation: mirrored, translation: centroid - mirrored * mean)
    }
}
