// PreserverBenchmark.swift: the model side of the iOS/iPadOS demo's benchmark screen. Times every PrivateGaze Core ML
// preserver the app holds under each compute-unit configuration and writes one result file in the project's benchmark
// schema ("privategaze.benchmark/1", benchmarks/schema.py) into the app's Documents folder.
//
// Part of the demo app (ios_demo/PrivateGazeDemo, its Benchmark tab). NOT COMPILED IN THIS REPOSITORY'S CI: CI runs on
// Linux, without Xcode or the iOS SDK; tests/test_bench_device_files.py checks that the keys and fixed strings written
// here are the schema's (a guard against drift, not a build). It reads the manifest as untyped JSON on purpose: the
// record copies fields (quality, training) the SDK's typed `Manifest` leaves undecoded.
//
// Deployment target iOS/iPadOS 16 or later (ContinuousClock, MLComputeUnits.cpuAndNeuralEngine, the async
// MLModel.compileModel(at:)). The packages pgz-export writes need iOS 17 (their minimum deployment target): on iOS 16
// they fail to load and are listed under "skipped" with Core ML's reason. The procedure is in ios_demo/BENCHMARK.md.
// Builds with Xcode 15.0 or later; the per-operation placement counts (`compute_plan`, MLComputePlan of the iOS 17.4
// SDK) are compiled in only by Xcode 15.3 (Swift 5.10) or later, and are null in an app built with an older Xcode.

import CoreML
import CoreVideo
import Foundation
import Metal
import UIKit

/// Names shared with the Python side (benchmarks/schema.py, privategaze/manifest.py); the tests read these literals.
enum BenchmarkSchema {
    static let version = "privategaze.benchmark/1"
    static let manifestKey = "privategaze.manifest"  // the user-defined metadata key of export/targets/coreml.py
    static let manifestSchema = "privategaze.manifest/1"
    static let toolName = "privategaze-ios-demo benchmark"
    static let qualitySource = "export validation (manifest quality)"  // as schema.quality_from_manifest writes it
    static let initLoad = """
        MLModel(contentsOf:configuration:) of the .mlmodelc Xcode compiled at build time; no compilation on the \
        device
        """
    static let initCompileAndLoad = """
        MLModel.compileModel(at:) of the .mlpackage on the device, then MLModel(contentsOf:configuration:)
        """
    static let sha256Source = """
        pgz-export's sidecar manifest bundled beside the model: the exporter's hash of the .mlpackage, not \
        recomputed on the device
        """
    static let memoryMethod = """
        task_vm_info phys_footprint of the app process: peak_mb is the largest sample (after the load, the first \
        prediction, the warm-up, every 50th timed prediction and the last), runtime_baseline_mb the sample before \
        the load; memory a system service holds for the model is not in it
        """
    static let input = """
        a fixed synthetic pattern at the model's input size and pixel format (IOSurface-backed CVPixelBuffer for \
        image I/O, float32 MLMultiArray for tensor I/O), made once per configuration; latency does not depend on \
        pixel values
        """
    static let processWarmup = """
        one untimed CPU-only load and prediction of the first model before any timing, so that Core ML's start-up in \
        the app process is not charged to the first record
        """
}

/// One compute-unit setting of MLModelConfiguration and its name in the record's runtime.accelerator.
struct ComputeConfiguration {
    let units: MLComputeUnits
    let accelerator: String

    /// CPU alone, CPU and GPU, CPU and Neural Engine, and all three (Core ML then places each operation itself).
    static let measured = [
        ComputeConfiguration(units: .cpuOnly, accelerator: "cpu"),
        ComputeConfiguration(units: .cpuAndGPU, accelerator: "cpu+gpu"),
        ComputeConfiguration(units: .cpuAndNeuralEngine, accelerator: "cpu+ane"),
        ComputeConfiguration(units: .all, accelerator: "all"),
    ]
}

/// How long each configuration runs: `warmupRuns` untimed predictions (at most a quarter of `maxSeconds`), then timed
/// ones until both `minRuns` and `minSeconds` are reached or `maxSeconds` has passed, never fewer than `minTimedRuns`.
struct BenchmarkBudget {
    var warmupRuns = 20
    var minRuns = 200
    var minSeconds = 2.0
    var maxSeconds = 10.0
    static let minTimedRuns = 10  // a p90 of fewer runs says nothing

    var dictionary: [String: Any] {
        ["warmup_runs": warmupRuns, "min_runs": minRuns, "min_seconds": minSeconds, "max_seconds": maxSeconds]
    }
}

/// A model the app can time: a .mlmodelc Xcode compiled from a bundled .mlpackage, or an .mlpackage copied into
/// Documents (compiled on the device), each with pgz-export's sidecar manifest `<name>.mlpackage.json` when present.
struct BenchmarkModel {
    let url: URL
    let sidecarURL: URL?

    var compiledAtRunTime: Bool { url.pathExtension == "mlpackage" }
    /// The exported package's file name: what the sidecar, the host results and Xcode's report call it.
    var packageFileName: String { url.deletingPathExtension().lastPathComponent + ".mlpackage" }

    static func discover(bundle: Bundle = .main, documents: URL) -> [BenchmarkModel] {
        var models: [BenchmarkModel] = []
        for url in bundle.urls(forResourcesWithExtension: "mlmodelc", subdirectory: nil) ?? [] {
            let package = url.deletingPathExtension().lastPathComponent + ".mlpackage"
            models.append(BenchmarkModel(url: url, sidecarURL: bundle.url(forResource: package, withExtension: "json")))
        }
        let files = FileManager.default
        let listed = (try? files.contentsOfDirectory(at: documents, includingPropertiesForKeys: nil)) ?? []
        for url in listed where url.pathExtension == "mlpackage" {
            let sidecar = url.deletingLastPathComponent().appendingPathComponent(url.lastPathComponent + ".json")
            models.append(BenchmarkModel(url: url, sidecarURL: files.fileExists(atPath: sidecar.path) ? sidecar : nil))
        }
        return models.sorted { $0.url.lastPathComponent < $1.url.lastPathComponent }
    }
}

enum BenchmarkFailure: LocalizedError {
    case noModels
    case notPreserver(String, found: [String])
    case badManifest(String, String)
    case unsupportedInput(String)
    case noOutput(String)
    case notJSON

    var errorDescription: String? {
        switch self {
        case .noModels:
            return "no Core ML model in the app or in Documents: add pgz-export's packages (ios_demo/BENCHMARK.md)"
        case let .notPreserver(file, found):
            return "\(file) has no privategaze.manifest metadata (it has \(found)): export it with pgz-export"
        case let .badManifest(file, why):
            return "\(file): its privategaze.manifest metadata is unusable: \(why)"
        case let .unsupportedInput(why):
            return "unsupported model input: \(why)"
        case let .noOutput(name):
            return "the prediction has no output \(name)"
        case .notJSON:
            return "the result holds a value JSON cannot carry (NaN or infinity)"
        }
    }
}

/// JSONSerialization writes NSNull as null; Swift's nil has no JSON form.
func orNull(_ value: Any?) -> Any { value ?? NSNull() }

func decimals(_ value: Double, _ digits: Int) -> Double {
    let scale = pow(10, Double(digits))
    return (value * scale).rounded() / scale
}

func milliseconds(since start: ContinuousClock.Instant) -> Double {
    let elapsed = (ContinuousClock.now - start).components
    return Double(elapsed.seconds) * 1e3 + Double(elapsed.attoseconds) * 1e-15
}

/// The manifest pgz-export embeds in the model's user-defined metadata (MLModelMetadataKey.creatorDefinedKey).
struct PreserverManifest {
    let fields: [String: Any]

    init(model: MLModel, file: String) throws {
        let userDefined = model.modelDescription.metadata[MLModelMetadataKey.creatorDefinedKey] as? [String: String]
        guard let text = userDefined?[BenchmarkSchema.manifestKey] else {
            throw BenchmarkFailure.notPreserver(file, found: (userDefined ?? [:]).keys.sorted())
        }
        let object = try? JSONSerialization.jsonObject(with: Data(text.utf8))
        guard let fields = object as? [String: Any] else {
            throw BenchmarkFailure.badManifest(file, "not a JSON object")
        }
        let schema = String(describing: fields["schema"] ?? "none")
        guard schema == BenchmarkSchema.manifestSchema else {
            let readable = BenchmarkSchema.manifestSchema
            throw BenchmarkFailure.badManifest(file, "schema \(schema), this app reads \(readable)")
        }
        guard fields["target"] as? String == "coreml" else {
            throw BenchmarkFailure.badManifest(file, "not a Core ML export")
        }
        self.fields = fields
    }

    var preserver: [String: Any] { fields["preserver"] as? [String: Any] ?? [:] }
    var inputName: String? { (fields["input"] as? [String: Any])?["name"] as? String }
    var outputName: String? { (fields["output"] as? [String: Any])?["name"] as? String }

    /// The record's artefact. sha256, size and file name come from the sidecar: a package cannot hold its own hash.
    func artefact(packageFile: String, sidecar: [String: Any]?) -> [String: Any] {
        let shape = (fields["input"] as? [String: Any])?["shape"] as? [Int] ?? []
        var artefact: [String: Any] = [:]
        artefact["name"] = orNull(preserver["name"] ?? fields["name"])
        artefact["file"] = sidecar?["file"] ?? packageFile
        artefact["sha256"] = orNull(sidecar?["sha256"])
        artefact["sha256_source"] = orNull(sidecar == nil ? nil : BenchmarkSchema.sha256Source)
        artefact["size_bytes"] = orNull(sidecar?["size_bytes"])
        artefact["arch"] = orNull(preserver["arch"])
        artefact["blackbox"] = orNull(preserver["blackbox"])
        artefact["target"] = "coreml"
        artefact["precision"] = orNull(fields["precision"])
        artefact["input_size"] = orNull(preserver["input_size"] ?? shape.last)
        artefact["width"] = orNull(preserver["width"])
        artefact["weights"] = preserver["training"] == nil ? "untrained" : "trained"
        artefact["flops"] = NSNull()  // the host benchmark computes FLOPs and parameters with torch; iOS cannot
        artefact["parameters"] = NSNull()
        return artefact
    }

    /// The task-level figures of the manifest's quality block, exactly as schema.quality_from_manifest maps them.
    var quality: Any {
        guard let quality = fields["quality"] as? [String: Any], let gaze = quality["gaze"] as? [String: Any] else {
            return NSNull()  // Core ML exports made on Linux carry no quality figures (no Core ML prediction there)
        }
        let identity = quality["identity"] as? [String: Any] ?? [:]
        let gender = quality["gender"] as? [String: Any] ?? [:]
        let figures: [String: Any] = [
            "gaze_error_deg": orNull(gaze["artefact_deg"]),
            "gaze_increase_deg": orNull(gaze["increase_deg"]),
            "identity_accuracy": orNull(identity["artefact"]),
            "identity_chance": orNull(identity["chance"]),
            "gender_accuracy": orNull(gender["artefact"]),
            "gender_chance": orNull(gender["chance"]),
            "source": BenchmarkSchema.qualitySource,
        ]
        return figures
    }

    /// The sidecar beside the model, if it describes this artefact: another's would name the wrong hash.
    func sidecar(at url: URL?) -> [String: Any]? {
        guard let url, let data = try? Data(contentsOf: url),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              object["name"] as? String == fields["name"] as? String
        else { return nil }
        return object
    }
}

/// A fixed batch-1 input for the model's own input description.
enum PreserverInput {
    static func make(for description: MLModelDescription, name: String?) throws -> MLFeatureProvider {
        guard let name = name ?? description.inputDescriptionsByName.keys.sorted().first,
              let feature = description.inputDescriptionsByName[name]
        else { throw BenchmarkFailure.unsupportedInput("the model has no input named by its manifest") }
        switch feature.type {
        case .image:
            guard let constraint = feature.imageConstraint else { throw BenchmarkFailure.unsupportedInput(name) }
            let buffer = try pixelBuffer(constraint.pixelsWide, constraint.pixelsHigh, constraint.pixelFormatType)
            return try MLDictionaryFeatureProvider(dictionary: [name: MLFeatureValue(pixelBuffer: buffer)])
        case .multiArray:
            guard let constraint = feature.multiArrayConstraint else { throw BenchmarkFailure.unsupportedInput(name) }
            let array = try MLMultiArray(shape: constraint.shape, dataType: .float32)
            for index in 0..<array.count { array[index] = NSNumber(value: Float(index % 256) / 255) }
            return try MLDictionaryFeatureProvider(dictionary: [name: MLFeatureValue(multiArray: array)])
        default:
            throw BenchmarkFailure.unsupportedInput("\(name) is neither an image nor a multi-array")
        }
    }

    /// IOSurface-backed, so that the GPU and the Neural Engine can read it without a copy.
    private static func pixelBuffer(_ width: Int, _ height: Int, _ format: OSType) throws -> CVPixelBuffer {
        let attributes = [kCVPixelBufferIOSurfacePropertiesKey as String: [String: Any]()] as CFDictionary
        var created: CVPixelBuffer?
        guard CVPixelBufferCreate(kCFAllocatorDefault, width, height, format, attributes, &created) == kCVReturnSuccess,
              let buffer = created
        else { throw BenchmarkFailure.unsupportedInput("no \(width)x\(height) pixel buffer of format \(format)") }
        CVPixelBufferLockBaseAddress(buffer, [])
        defer { CVPixelBufferUnlockBaseAddress(buffer, []) }
        guard let base = CVPixelBufferGetBaseAddress(buffer) else {
            throw BenchmarkFailure.unsupportedInput("planar pixel format \(format)")
        }
        let bytesPerRow = CVPixelBufferGetBytesPerRow(buffer)
        let bytes = base.assumingMemoryBound(to: UInt8.self)
        for row in 0..<height {
            for column in 0..<bytesPerRow {
                bytes[row * bytesPerRow + column] = UInt8(truncatingIfNeeded: row * 7 + column * 3)
            }
        }
        return buffer
    }
}

/// The result's `machine`, read on the main actor (UIDevice is main-actor bound).
enum DeviceInfo {
    @MainActor
    static func machine(budget: BenchmarkBudget) -> [String: Any] {
        let device = UIDevice.current
        let identifier = hardwareIdentifier()
        let simulator = ProcessInfo.processInfo.environment["SIMULATOR_MODEL_IDENTIFIER"] != nil
        let details: [String: Any] = [
            "model_identifier": identifier,
            "os_build": orNull(sysctlString("kern.osversion")),
            "simulator": simulator,
            "low_power_mode": ProcessInfo.processInfo.isLowPowerModeEnabled,
            "thermal_state_start": thermalState(),
            "metal_device": orNull(MTLCreateSystemDefaultDevice()?.name),
            "neural_engine_cores": orNull(neuralEngineCores()),
            "physical_memory_mb": Int(ProcessInfo.processInfo.physicalMemory / 1_048_576),
            "budget": budget.dictionary,
            "input": BenchmarkSchema.input,
            "process_warmup": BenchmarkSchema.processWarmup,
        ]
        return [
            "class": device.userInterfaceIdiom == .pad ? "tablet" : "phone",
            "name": simulator ? "\(identifier) simulator (the Mac's timings)" : identifier,
            "os": "\(device.systemName) \(device.systemVersion)",
            "processor": NSNull(),  // iOS names no chip; details.metal_device and the identifier say which one it is
            "cpu_count": ProcessInfo.processInfo.activeProcessorCount,
            "details": details,
        ]
    }

    /// The hardware model, e.g. "iPhone16,1" or "iPad14,5" (the simulator reports the device it simulates).
    static func hardwareIdentifier() -> String {
        if let simulated = ProcessInfo.processInfo.environment["SIMULATOR_MODEL_IDENTIFIER"] { return simulated }
        var system = utsname()
        uname(&system)
        return withUnsafeBytes(of: &system.machine) { raw in String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self) }
    }

    static func thermalState() -> String {
        switch ProcessInfo.processInfo.thermalState {
        case .nominal: return "nominal"
        case .fair: return "fair"
        case .serious: return "serious"
        case .critical: return "critical"
        @unknown default: return "unknown"
        }
    }

    static func neuralEngineCores() -> Int? {
        guard #available(iOS 17.0, *) else { return nil }
        for device in MLComputeDevice.allComputeDevices {
            if case let .neuralEngine(engine) = device { return engine.totalCoreCount }
        }
        return nil
    }

    private static func sysctlString(_ name: String) -> String? {
        var size = 0
        guard sysctlbyname(name, nil, &size, nil, 0) == 0, size > 0 else { return nil }
        var buffer = [CChar](repeating: 0, count: size)
        guard sysctlbyname(name, &buffer, &size, nil, 0) == 0 else { return nil }
        return String(cString: buffer)
    }
}

/// The app's physical footprint (task_vm_info.phys_footprint, the figure Xcode's memory gauge follows), sampled.
struct FootprintPeak {
    let baseline: UInt64?
    private(set) var peak: UInt64?

    init() {
        baseline = Self.bytes()
        peak = baseline
    }

    mutating func sample() {
        guard let now = Self.bytes() else { return }
        peak = max(peak ?? now, now)
    }

    var record: Any {
        guard let baseline, let peak else { return NSNull() }
        let memory: [String: Any] = [
            "peak_mb": decimals(Double(peak) / 1_048_576, 1),
            "runtime_baseline_mb": decimals(Double(baseline) / 1_048_576, 1),
            "method": BenchmarkSchema.memoryMethod,
        ]
        return memory
    }

    /// TASK_VM_INFO_COUNT and TASK_VM_INFO_REV1_COUNT are macros Swift does not import: computed from the layout.
    static func bytes() -> UInt64? {
        var info = task_vm_info_data_t()
        var count = mach_msg_type_number_t(MemoryLayout<task_vm_info_data_t>.size / MemoryLayout<integer_t>.size)
        let revision1 = MemoryLayout.offset(of: \task_vm_info_data_t.min_address)! / MemoryLayout<integer_t>.size
        let result = withUnsafeMutablePointer(to: &info) {
            $0.withMemoryRebound(to: integer_t.self, capacity: Int(count)) {
                task_info(mach_task_self_, task_flavor_t(TASK_VM_INFO), $0, &count)
            }
        }
        guard result == KERN_SUCCESS, count >= mach_msg_type_number_t(revision1) else { return nil }
        return info.phys_footprint
    }
}

/// Latency figures as benchmarks/latency.py computes them (numpy's linearly interpolated percentiles, population
/// standard deviation), in milliseconds rounded to the microsecond.
enum LatencyStatistics {
    static func summary(_ timesMs: [Double], warmup: Int) -> [String: Any] {
        let sorted = timesMs.sorted()
        let mean = sorted.reduce(0, +) / Double(sorted.count)
        let variance = sorted.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(sorted.count)
        return [
            "n": sorted.count,
            "warmup": warmup,
            "mean": decimals(mean, 3),
            "p50": decimals(percentile(sorted, 0.50), 3),
            "p90": decimals(percentile(sorted, 0.90), 3),
            "p99": decimals(percentile(sorted, 0.99), 3),
            "p5": decimals(percentile(sorted, 0.05), 3),
            "p95": decimals(percentile(sorted, 0.95), 3),
            "min": decimals(sorted[0], 3),
            "max": decimals(sorted[sorted.count - 1], 3),
            "std": decimals(variance.squareRoot(), 3),
        ]
    }

    static func percentile(_ sorted: [Double], _ fraction: Double) -> Double {
        let position = fraction * Double(sorted.count - 1)
        let lower = Int(position.rounded(.down)), upper = Int(position.rounded(.up))
        return sorted[lower] + (sorted[upper] - sorted[lower]) * (position - Double(lower))
    }
}

#if compiler(>=5.10)  // MLComputePlan is in the iOS 17.4 SDK: Xcode 15.3 (Swift 5.10) or later
/// How many of the program's operations Core ML prefers to run on each compute device: the placement Xcode's
/// performance report shows per operation, counted (MLComputePlan, iOS 17.4). Nil for a model that is no ML program.
/// Built only by Xcode 15.3 or later; with Xcode 15.0 to 15.2 the app builds without it and `compute_plan` is null.
@available(iOS 17.4, *)
enum ComputePlanSummary {
    static func counts(compiledURL: URL, configuration: MLModelConfiguration) async -> [String: Int]? {
        guard let plan = try? await MLComputePlan.load(contentsOf: compiledURL, configuration: configuration),
              case let .program(program) = plan.modelStructure,
              let main = program.functions["main"]
        else { return nil }
        var counts = ["cpu": 0, "gpu": 0, "neural_engine": 0]
        for operation in main.block.operations {
            guard let usage = plan.deviceUsage(for: operation) else { continue }  // constants run nowhere
            switch usage.preferred {
            case .cpu: counts["cpu", default: 0] += 1
            case .gpu: counts["gpu", default: 0] += 1
            case .neuralEngine: counts["neural_engine", default: 0] += 1
            @unknown default: continue
            }
        }
        return counts
    }
}
#endif

/// What a run leaves: the result file in Documents, and its records and skips for the screen.
struct BenchmarkOutcome {
    let fileURL: URL
    let records: [[String: Any]]
    let skipped: [String]
}

/// One run: every model under every compute-unit configuration, written as one result file.
///
/// Per configuration: the timed load (`init_ms`: compilation included when the model is an .mlpackage compiled on the
/// device, see `init_method`), the first prediction, untimed warm-up predictions, then timed batch-1 predictions
/// (`MLModel.prediction(from:)` on a serial queue, ContinuousClock around each call), with the app's footprint sampled
/// outside the timed calls. Core ML caches what it specializes for a device across launches, so `init_ms` is a cached
/// load except on the first run after an install or an OS update (Xcode's performance report tells both apart).
final class PreserverBenchmark {
    let outputDirectory: URL
    let budget: BenchmarkBudget
    let configurations: [ComputeConfiguration]
    private let queue = DispatchQueue(label: "privategaze.benchmark", qos: .userInitiated)

    init(
        outputDirectory: URL,
        budget: BenchmarkBudget = BenchmarkBudget(),
        configurations: [ComputeConfiguration] = ComputeConfiguration.measured
    ) {
        self.outputDirectory = outputDirectory
        self.budget = budget
        self.configurations = configurations
    }

    /// Core ML ships with the OS: its version is the OS version ("17.5", "17.5.1").
    static var coreMLVersion: String {
        let os = ProcessInfo.processInfo.operatingSystemVersion
        let version = "\(os.majorVersion).\(os.minorVersion)"
        return os.patchVersion == 0 ? version : "\(version).\(os.patchVersion)"
    }

    func run(models: [BenchmarkModel], machine: [String: Any], progress: @escaping (String) -> Void) async throws
        -> BenchmarkOutcome
    {
        guard let first = models.first else { throw BenchmarkFailure.noModels }
        let createdUTC = ISO8601DateFormatter().string(from: Date())  // "2026-11-24T03:10:00Z"
        await warmUpProcess(first)
        var records: [[String: Any]] = []
        var skipped: [[String: Any]] = []
        var skippedLines: [String] = []
        for model in models {
            for configuration in configurations {
                progress("\(model.packageFileName) on \(configuration.accelerator)")
                do {
                    records.append(try await measure(model, configuration))
                } catch {
                    let reason = "\(configuration.accelerator): \(error.localizedDescription)"
                    skipped.append(["artefact": model.packageFileName, "reason": reason])
                    skippedLines.append("\(model.packageFileName): \(reason)")
                }
            }
        }
        var machine = machine
        var details = machine["details"] as? [String: Any] ?? [:]
        details["thermal_state_end"] = DeviceInfo.thermalState()
        machine["details"] = details
        let tool: [String: Any] = [
            "name": BenchmarkSchema.toolName,
            "version": orNull(Bundle.main.infoDictionary?["CFBundleShortVersionString"]),
        ]
        let result: [String: Any] = [
            "schema": BenchmarkSchema.version,
            "created_utc": createdUTC,
            "tool": tool,
            "machine": machine,
            "records": records,
            "skipped": skipped,
        ]
        let identifier = machine["name"] as? String ?? "device"
        let fileURL = try write(result, name: "privategaze-benchmark-\(identifier)-\(createdUTC).json")
        return BenchmarkOutcome(fileURL: fileURL, records: records, skipped: skippedLines)
    }

    private func measure(_ model: BenchmarkModel, _ configuration: ComputeConfiguration) async throws -> [String: Any] {
        let settings = MLModelConfiguration()
        settings.computeUnits = configuration.units
        let footprint = FootprintPeak()
        let start = ContinuousClock.now
        let compiledURL = try await Self.compiledURL(of: model)
        defer { if model.compiledAtRunTime { try? FileManager.default.removeItem(at: compiledURL) } }
        let mlModel = try await onQueue { try MLModel(contentsOf: compiledURL, configuration: settings) }
        let initMs = milliseconds(since: start)
        let manifest = try PreserverManifest(model: mlModel, file: model.packageFileName)
        let input = try PreserverInput.make(for: mlModel.modelDescription, name: manifest.inputName)
        let budget = self.budget
        let timing = try await onQueue {
            try Self.time(mlModel, input: input, outputName: manifest.outputName, budget: budget, footprint: footprint)
        }
        let plan = await Self.computePlan(compiledURL: compiledURL, configuration: settings)
        let runtime: [String: Any] = [
            "name": "coreml",
            "version": Self.coreMLVersion,
            "accelerator": configuration.accelerator,
            "threads": NSNull(),  // Core ML schedules its own threads
        ]
        let sidecar = manifest.sidecar(at: model.sidecarURL)
        let mean = timing.timesMs.reduce(0, +) / Double(timing.timesMs.count)
        return [
            "kind": "measured",
            "scope": "model",
            "batch": 1,
            "artefact": manifest.artefact(packageFile: model.packageFileName, sidecar: sidecar),
            "runtime": runtime,
            "init_ms": decimals(initMs, 2),
            "init_method": model.compiledAtRunTime ? BenchmarkSchema.initCompileAndLoad : BenchmarkSchema.initLoad,
            "first_inference_ms": decimals(timing.firstMs, 3),
            "latency_ms": LatencyStatistics.summary(timing.timesMs, warmup: timing.warmup),
            "throughput_fps": decimals(1000 / mean, 1),
            "memory": timing.footprint.record,
            "compute_plan": plan,
            "quality": manifest.quality,
        ]
    }

    private struct Timing {
        let firstMs: Double
        let warmup: Int
        let timesMs: [Double]
        let footprint: FootprintPeak
    }

    private static func time(
        _ model: MLModel,
        input: MLFeatureProvider,
        outputName: String?,
        budget: BenchmarkBudget,
        footprint: FootprintPeak
    ) throws -> Timing {
        var footprint = footprint
        footprint.sample()  // after the load
        // The pool releases each prediction's output buffers, so thousands of runs do not inflate the footprint.
        let predict: () throws -> MLFeatureProvider = { try autoreleasepool { try model.prediction(from: input) } }
        var start = ContinuousClock.now
        let first = try predict()
        let firstMs = milliseconds(since: start)
        if let outputName, first.featureValue(for: outputName) == nil { throw BenchmarkFailure.noOutput(outputName) }
        footprint.sample()
        var warmup = 0
        start = ContinuousClock.now
        while warmup < budget.warmupRuns, milliseconds(since: start) < budget.maxSeconds * 1000 / 4 {
            _ = try predict()
            warmup += 1
        }
        footprint.sample()
        var timesMs: [Double] = []
        timesMs.reserveCapacity(budget.minRuns)
        let begin = ContinuousClock.now
        while true {
            let call = ContinuousClock.now
            _ = try predict()
            timesMs.append(milliseconds(since: call))
            if timesMs.count % 50 == 0 { footprint.sample() }
            let elapsedS = milliseconds(since: begin) / 1000
            let enough = timesMs.count >= budget.minRuns && elapsedS >= budget.minSeconds
            if timesMs.count >= BenchmarkBudget.minTimedRuns && (enough || elapsedS >= budget.maxSeconds) { break }
        }
        footprint.sample()
        return Timing(firstMs: firstMs, warmup: warmup, timesMs: timesMs, footprint: footprint)
    }

    /// The record's `compute_plan`: `ComputePlanSummary`'s counts on iOS 17.4 or later when the app was built with
    /// Xcode 15.3 or later (the iOS 17.4 SDK), null otherwise.
    private static func computePlan(compiledURL: URL, configuration: MLModelConfiguration) async -> Any {
        #if compiler(>=5.10)
        if #available(iOS 17.4, *) {
            return orNull(await ComputePlanSummary.counts(compiledURL: compiledURL, configuration: configuration))
        }
        #endif
        return NSNull()
    }

    /// The .mlmodelc to load: the bundled one, or one compiled now from a Documents .mlpackage (a temporary copy).
    private static func compiledURL(of model: BenchmarkModel) async throws -> URL {
        guard model.compiledAtRunTime else { return model.url }
        return try await MLModel.compileModel(at: model.url)
    }

    private func warmUpProcess(_ model: BenchmarkModel) async {
        let settings = MLModelConfiguration()
        settings.computeUnits = .cpuOnly
        do {
            let compiledURL = try await Self.compiledURL(of: model)
            defer { if model.compiledAtRunTime { try? FileManager.default.removeItem(at: compiledURL) } }
            let mlModel = try MLModel(contentsOf: compiledURL, configuration: settings)
            _ = try mlModel.prediction(from: PreserverInput.make(for: mlModel.modelDescription, name: nil))
        } catch {
            return  // the measured configurations meet the same failure and list it under skipped, with its reason
        }
    }

    /// Loads and predictions block their thread: they run on this serial queue, not on Swift's cooperative pool.
    private func onQueue<T>(_ body: @escaping () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result { try body() }) }
        }
    }

    private func write(_ result: [String: Any], name: String) throws -> URL {
        guard JSONSerialization.isValidJSONObject(result) else { throw BenchmarkFailure.notJSON }  // else it raises
        let data = try JSONSerialization.data(
            withJSONObject: result, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        )
        let url = outputDirectory.appendingPathComponent(name.replacingOccurrences(of: ":", with: ""))
        try data.write(to: url, options: .atomic)
        return url
    }
}
