#if canImport(Vision)
import CoreGraphics
import CoreVideo
import Foundation
import Vision

/// A face Vision found in a frame: its box and, when Vision placed them, the six landmarks normalization needs.
public struct DetectedFace: Sendable {
    public let box: FaceBox
    public let landmarks: FaceLandmarks6?
}

/// Apple's Vision face landmarks -> the six points of the face model (`FaceLandmarks6`), in the frame's pixels.
///
/// Vision reports landmark regions (eye contours, outer lips) in normalized coordinates with the origin at the
/// bottom-left corner; the normalization wants pixels with the origin at the top-left and pixel centres at integers
/// (OpenCV). The corners are the extreme contour points along the line through the two eye centres, so a rolled head
/// still gives its true eye and mouth corners. Which eye is the subject's right is decided by position, not by
/// Vision's region names: in an unmirrored frame of a person facing the camera it is the one on the image's left.
/// Frames must therefore be upright and unmirrored (rotate them at capture with `AVCaptureConnection`, and mirror
/// only the preview on screen).
public final class VisionFaceDetector: @unchecked Sendable {
    public init() {}

    /// The largest face in an upright, unmirrored frame, or nil when there is none.
    ///
    /// - Throws: `PrivateGazeError.image` when Vision fails on the frame.
    public func largestFace(in frame: CVPixelBuffer) throws -> DetectedFace? {
        let request = VNDetectFaceLandmarksRequest()
        let handler = VNImageRequestHandler(cvPixelBuffer: frame, orientation: .up, options: [:])
        do {
            try handler.perform([request])
        } catch {
            throw PrivateGazeError.image("Vision could not look for faces: \(error.localizedDescription)")
        }
        let faces = request.results ?? []
        let area: (VNFaceObservation) -> CGFloat = { $0.boundingBox.width * $0.boundingBox.height }
        guard let face = faces.max(by: { area($0) < area($1) }) else { return nil }
        let size = CGSize(width: CVPixelBufferGetWidth(frame), height: CVPixelBufferGetHeight(frame))
        let box = face.boundingBox
        let faceBox = FaceBox(
            x0: Double(box.minX * size.width), y0: Double((1 - box.maxY) * size.height),
            x1: Double(box.maxX * size.width), y1: Double((1 - box.minY) * size.height)
        )
        return DetectedFace(box: faceBox, landmarks: face.landmarks.flatMap { Self.sixLandmarks($0, imageSize: size) })
    }

    /// The six points from Vision's eye and outer-lip regions, or nil when a region is missing.
    static func sixLandmarks(_ landmarks: VNFaceLandmarks2D, imageSize: CGSize) -> FaceLandmarks6? {
        guard let first = landmarks.leftEye.map({ pixels($0, imageSize) }),
              let second = landmarks.rightEye.map({ pixels($0, imageSize) }),
              let lips = landmarks.outerLips.map({ pixels($0, imageSize) }),
              !first.isEmpty, !second.isEmpty, !lips.isEmpty
        else { return nil }
        let (imageLeftEye, imageRightEye) = centroid(first).x <= centroid(second).x ? (first, second) : (second, first)
        let left = centroid(imageLeftEye), right = centroid(imageRightEye)
        let axis = Point2(right.x - left.x, right.y - left.y)
        let length = (axis.x * axis.x + axis.y * axis.y).squareRoot()
        guard length > 0 else { return nil }
        let unit = Point2(axis.x / length, axis.y / length)
        func along(_ point: Point2) -> Double { point.x * unit.x + point.y * unit.y }
        func extremes(_ points: [Point2]) -> (low: Point2, high: Point2)? {
            guard let low = points.min(by: { along($0) < along($1) }),
                  let high = points.max(by: { along($0) < along($1) })
            else { return nil }
            return (low, high)
        }
        guard let rightEye = extremes(imageLeftEye), let leftEye = extremes(imageRightEye), let mouth = extremes(lips)
        else { return nil }
        return FaceLandmarks6(
            rightEyeOuter: rightEye.low, rightEyeInner: rightEye.high,
            leftEyeInner: leftEye.low, leftEyeOuter: leftEye.high,
            mouthRight: mouth.low, mouthLeft: mouth.high
        )
    }

    /// A region's points in pixels, origin top-left, pixel centres at integers.
    private static func pixels(_ region: VNFaceLandmarkRegion2D, _ size: CGSize) -> [Point2] {
        region.pointsInImage(imageSize: size).map { Point2(Double($0.x) - 0.5, Double(size.height - $0.y) - 0.5) }
    }

    private static func centroid(_ points: [Point2]) -> Point2 {
        let count = Double(max(points.count, 1))
        return Point2(points.reduce(0) { $0 + $1.x } / count, points.reduce(0) { $0 + $1.y } / count)
    }
}
#endif
