import Foundation
import XCTest
@testable import PrivateGazeSDK
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A transport that answers from a script and records what was sent (httpx.MockTransport's role in the Python tests).
final class ScriptedTransport: HTTPTransport, @unchecked Sendable {
    typealias Answer = @Sendable (URLRequest) async throws -> HTTPAnswer
    private let lock = NSLock()
    private var answers: [Answer]
    private var recorded: [URLRequest] = []

    init(_ answers: [Answer]) {
        self.answers = answers
    }

    var requests: [URLRequest] {
        lock.lock()
        defer { lock.unlock() }
        return recorded
    }

    func send(_ request: URLRequest, maxBodyBytes: Int) async throws -> HTTPAnswer {
        let answer: Answer = {
            lock.lock()
            defer { lock.unlock() }
            recorded.append(request)
            return answers.count > 1 ? answers.removeFirst() : answers[0]
        }()
        return try await answer(request)
    }

    static func json(_ status: Int, _ body: String, headers: [String: String] = [:]) -> Answer {
        { _ in HTTPAnswer(statusCode: status, headers: headers, body: Data(body.utf8)) }
    }
}

/// Records the waits between attempts instead of waiting.
final class Waits: @unchecked Sendable {
    private let lock = NSLock()
    private var seconds: [Double] = []

    var recorded: [Double] {
        lock.lock()
        defer { lock.unlock() }
        return seconds
    }

    func record(_ value: Double) {
        lock.lock()
        defer { lock.unlock() }
        seconds.append(value)
    }
}

final class GazeClientTests: XCTestCase {
    private let endpoint = URL(string: "https://gaze.example.com/v1/gaze?key=secret")!
    private let answer = #"{"gaze": {"pitch": 0.1, "yaw": -0.2}, "units": "rad", "model": "blackbox-tiny"}"#

    private func client(
        _ transport: ScriptedTransport, _ waits: Waits = Waits(), config: ClientConfig = .standard, url: URL? = nil
    ) throws -> GazeClient {
        let api = HTTPJSONAPI(config: try HTTPJSONConfig(url: url ?? endpoint))
        return try GazeClient(api: api, config: config, transport: transport, sleep: { waits.record($0) }, random: { 0 })
    }

    func testSendsOnlyThePNGOfTheObfuscatedFaceInTheReferenceServicesField() async throws {
        let transport = ScriptedTransport([ScriptedTransport.json(200, answer)])
        let face = try Fixtures.obfuscatedFace()
        let result = try await client(transport).estimate(face)
        XCTAssertEqual(result.pitchYaw, GazeAngles(pitch: 0.1, yaw: -0.2))
        XCTAssertEqual(result.attempts, 1)
        XCTAssertEqual(result.model, "tiny.fp32")
        XCTAssertNil(result.cameraPitchYaw, "no normalization, no camera-frame gaze")

        let request = try XCTUnwrap(transport.requests.first)
        XCTAssertEqual(request.httpMethod, "POST")
        XCTAssertEqual(request.url, endpoint)
        XCTAssertEqual(request.value(forHTTPHeaderField: "Content-Type"), "application/json")
        let body = try XCTUnwrap(JSONSerialization.jsonObject(with: try XCTUnwrap(request.httpBody)) as? [String: Any])
        XCTAssertEqual(Array(body.keys), ["image"], "pgz-serve's request: {\"image\": <base64 PNG>} and nothing else")
        let png = try XCTUnwrap(Data(base64Encoded: try XCTUnwrap(body["image"] as? String)))
        XCTAssertEqual(png, PNGEncoder.encode(face.pixels))
    }

    func testCameraGazeComesBackThroughTheNormalization() async throws {
        let manifest = try Fixtures.imageManifest()
        let normalizer = FaceNormalizer(spec: manifest.normalization, faceModel: manifest.faceModel)
        let normalization = try normalizer.normalization(
            box: FaceBox(x0: 30, y0: 40, x1: 70, y1: 82), cameraMatrix: Camera.defaultMatrix(width: 96, height: 128),
            faceWidthMm: manifest.faceModel.boxFaceWidthMm
        )
        let face = try Fixtures.obfuscatedFace(normalization: normalization)
        let result = try await client(ScriptedTransport([ScriptedTransport.json(200, answer)])).estimate(face)
        XCTAssertEqual(result.cameraPitchYaw, try normalization.gazeToCamera(result.pitchYaw))
        XCTAssertEqual(result.normalizationMethod, .landmarks)
        XCTAssertEqual(result.timestampMs, 40)
    }

    func testRetriesServerErrorsWithBackoff() async throws {
        let transport = ScriptedTransport([
            ScriptedTransport.json(503, "busy"), ScriptedTransport.json(502, "bad gateway"),
            ScriptedTransport.json(200, answer),
        ])
        let waits = Waits()
        let result = try await client(transport, waits).estimate(Fixtures.obfuscatedFace())
        XCTAssertEqual(result.attempts, 3)
        XCTAssertEqual(waits.recorded, [0.2, 0.4], "backoff 0.2 s doubling, no jitter when random() is 0")
    }

    func testRateLimitHonoursRetryAfterUpToItsCap() async throws {
        let polite = ScriptedTransport([
            ScriptedTransport.json(429, "slow down", headers: ["Retry-After": "1"]), ScriptedTransport.json(200, answer),
        ])
        let waits = Waits()
        _ = try await client(polite, waits).estimate(Fixtures.obfuscatedFace())
        XCTAssertEqual(waits.recorded, [1])

        let greedy = ScriptedTransport([ScriptedTransport.json(429, "later", headers: ["Retry-After": "60"])])
        do {
            _ = try await client(greedy).estimate(Fixtures.obfuscatedFace())
            XCTFail("a 60 s Retry-After is over the 5 s cap")
        } catch let error as PrivateGazeError {
            XCTAssertEqual(error.remoteFailure, .rateLimit(retryAfterS: 60))
            XCTAssertEqual(error.attempts, 1)
            XCTAssertEqual(greedy.requests.count, 1)
        }
    }

    func testClientErrorsAndBadAnswersAreNotRetried() async throws {
        for (status, body, failure) in [
            (404, "not here", RemoteFailure.http(statusCode: 404)), (200, "<html>", RemoteFailure.response),
            (200, #"{"gaze": {"pitch": 7, "yaw": 0}}"#, RemoteFailure.response),
        ] {
            let transport = ScriptedTransport([ScriptedTransport.json(status, body)])
            do {
                _ = try await client(transport).estimate(Fixtures.obfuscatedFace())
                XCTFail("\(status) \(body) must fail")
            } catch let error as PrivateGazeError {
                XCTAssertEqual(error.remoteFailure, failure)
                XCTAssertEqual(transport.requests.count, 1)
            }
        }
    }

    func testConnectionFailuresAreRetriedThenReported() async throws {
        let transport = ScriptedTransport([{ _ in throw URLError(.cannotConnectToHost) }])
        let waits = Waits()
        do {
            _ = try await client(transport, waits).estimate(Fixtures.obfuscatedFace())
            XCTFail("nobody is listening")
        } catch let error as PrivateGazeError {
            XCTAssertEqual(error.remoteFailure, .connection)
            XCTAssertEqual(error.attempts, 3)
            XCTAssertTrue(error.message.contains("gave up after 3 attempts"), error.message)
            XCTAssertFalse(error.message.contains("secret"), "the query may hold a key; messages leave it out")
        }
        XCTAssertEqual(transport.requests.count, 3)
    }

    func testAStalledServerIsCutOffAtTheDeadline() async throws {
        let transport = ScriptedTransport([{ request in
            try await Task.sleep(nanoseconds: 5_000_000_000)
            return try await ScriptedTransport.json(200, "{}")(request)
        }])
        let config = try ClientConfig(timeoutS: 0.05, retry: RetryPolicy(maxAttempts: 1))
        let started = Date()
        do {
            _ = try await client(transport, config: config).estimate(Fixtures.obfuscatedFace())
            XCTFail("the answer never comes")
        } catch let error as PrivateGazeError {
            XCTAssertEqual(error.remoteFailure, .timeout)
        }
        XCTAssertLessThan(Date().timeIntervalSince(started), 2)
    }

    func testPlainHTTPOnlyToLoopbackUnlessAllowed() throws {
        let transport = ScriptedTransport([ScriptedTransport.json(200, answer)])
        let lan = try XCTUnwrap(URL(string: "http://192.168.1.20:8080/v1/gaze"))
        XCTAssertThrowsError(try client(transport, url: lan)) { error in
            guard case .config = error as? PrivateGazeError else { return XCTFail("\(error)") }
        }
        XCTAssertNoThrow(try client(transport, config: ClientConfig(allowInsecureHTTP: true), url: lan))
        XCTAssertNoThrow(try client(transport, url: try XCTUnwrap(URL(string: "http://127.0.0.1:8080/v1/gaze"))))
    }

    func testLoopbackHostsAsInPython() throws {
        let table = try XCTUnwrap(Fixtures.reference()["loopback"] as? [String: Bool])
        XCTAssertFalse(table.isEmpty)
        for (host, expected) in table {
            XCTAssertEqual(GazeClient.isLoopback(host), expected, host)
        }
    }

    func testARequestForAnotherHostIsNeverSent() async throws {
        struct Redirecting: GazeAPI {
            let endpoint = URL(string: "https://gaze.example.com/v1/gaze")!
            func makeRequest(for face: ObfuscatedFace) throws -> URLRequest {
                URLRequest(url: URL(string: "https://collector.example.net/raw")!)
            }
            func parseResponse(_ body: Data) throws -> GazeAngles { GazeAngles(pitch: 0, yaw: 0) }
        }
        let transport = ScriptedTransport([ScriptedTransport.json(200, answer)])
        let gazeClient = try GazeClient(api: Redirecting(), transport: transport, sleep: { _ in }, random: { 0 })
        do {
            _ = try await gazeClient.estimate(Fixtures.obfuscatedFace())
            XCTFail("the request goes elsewhere")
        } catch let error as PrivateGazeError {
            guard case .config = error else { return XCTFail("\(error)") }
        }
        XCTAssertTrue(transport.requests.isEmpty)
    }

    func testConfigsMirrorPythonsBounds() throws {
        XCTAssertEqual(ClientConfig.standard.maxDurationS, 3 * 10 + 2 * 5, "3 attempts x 10 s + 2 waits of at most 5 s")
        XCTAssertThrowsError(try RetryPolicy(maxAttempts: 11))
        XCTAssertThrowsError(try RetryPolicy(retryStatuses: [404]))
        XCTAssertThrowsError(try ClientConfig(timeoutS: 0))
        XCTAssertEqual(RetryPolicy.retryAfterS("2"), 2)
        XCTAssertNil(RetryPolicy.retryAfterS("soon"))
        let now = Date(timeIntervalSince1970: 1_700_000_000)  // Tue, 14 Nov 2023 22:13:20 GMT
        XCTAssertEqual(try XCTUnwrap(RetryPolicy.retryAfterS("Tue, 14 Nov 2023 22:13:30 GMT", now: now)), 10, accuracy: 1e-6)
        XCTAssertThrowsError(try HTTPJSONConfig(url: endpoint, extraFields: ["image": .string("x")]))
        XCTAssertThrowsError(try HTTPJSONConfig(url: endpoint, headers: ["Authorization": "k"], bearerToken: "t"))
    }

    func testNestedFieldsDataURLsAndTokens() throws {
        let config = try HTTPJSONConfig(
            url: endpoint, imageField: "inputs.face", imageFormat: .dataURL,
            extraFields: ["model": .string("v2"), "inputs": .object(["crop": .bool(true)])], bearerToken: "t0k3n"
        )
        let request = try HTTPJSONAPI(config: config).makeRequest(for: Fixtures.obfuscatedFace())
        let body = try XCTUnwrap(JSONSerialization.jsonObject(with: try XCTUnwrap(request.httpBody)) as? [String: Any])
        let inputs = try XCTUnwrap(body["inputs"] as? [String: Any])
        XCTAssertEqual(body["model"] as? String, "v2")
        XCTAssertEqual(inputs["crop"] as? Bool, true)
        XCTAssertTrue((inputs["face"] as? String)?.hasPrefix("data:image/png;base64,") == true)
        XCTAssertEqual(request.value(forHTTPHeaderField: "Authorization"), "Bearer t0k3n")
    }
}
