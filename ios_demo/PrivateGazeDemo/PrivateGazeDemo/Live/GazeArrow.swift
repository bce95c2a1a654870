// Gaze drawn as an arrow, in the SDK's convention: the gaze vector (x right, y down, z away from the camera) points
// from the face to the target, so its x and y are the arrow's direction in the image.

import PrivateGazeSDK
import SwiftUI

enum GazeArrow {
    /// An arrow from the centre of a normalized face along its normalized-frame gaze, 40% of the side long at most.
    static func path(normalized gaze: GazeAngles, in size: CGSize) -> Path {
        let center = CGPoint(x: size.width / 2, y: size.height / 2)
        let length = 0.4 * min(size.width, size.height)
        let direction = gaze.vector
        return path(from: center, to: CGPoint(x: center.x + length * direction.x, y: center.y + length * direction.y))
    }

    /// A line from `start` to `end` with a head at `end`.
    static func path(from start: CGPoint, to end: CGPoint) -> Path {
        var path = Path()
        path.move(to: start)
        path.addLine(to: end)
        let dx = end.x - start.x, dy = end.y - start.y
        let length = (dx * dx + dy * dy).squareRoot()
        guard length > 1 else { return path }
        let head = min(12, length / 3)
        let angle = atan2(dy, dx)
        for side in [-1.0, 1.0] {
            let wing = angle + .pi + side * .pi / 7
            path.move(to: end)
            path.addLine(to: CGPoint(x: end.x + head * cos(wing), y: end.y + head * sin(wing)))
        }
        return path
    }
}
