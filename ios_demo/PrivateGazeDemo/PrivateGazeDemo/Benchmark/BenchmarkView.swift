// BenchmarkView.swift: the iOS/iPadOS demo's benchmark screen. Runs PreserverBenchmark over every preserver in the app
// (bundle and Documents), shows p50, p90, init and peak memory per compute-unit configuration, and shares the JSON
// result it wrote to Documents.
//
// The Benchmark tab of the demo app (ios_demo/PrivateGazeDemo). NOT COMPILED IN THIS REPOSITORY'S CI (Linux, no Xcode).

import SwiftUI
import UIKit

/// One line of the screen's table, read back from a written record.
struct BenchmarkRow: Identifiable {
    let id = UUID()
    let model: String
    let accelerator: String
    let p50Ms: Double?
    let p90Ms: Double?
    let initMs: Double?
    let peakMB: Double?

    init(record: [String: Any]) {
        let artefact = record["artefact"] as? [String: Any] ?? [:]
        let latency = record["latency_ms"] as? [String: Any] ?? [:]
        let memory = record["memory"] as? [String: Any] ?? [:]
        model = [artefact["arch"], artefact["precision"]].compactMap { $0 as? String }.joined(separator: " ")
        accelerator = (record["runtime"] as? [String: Any])?["accelerator"] as? String ?? "?"
        p50Ms = latency["p50"] as? Double
        p90Ms = latency["p90"] as? Double
        initMs = record["init_ms"] as? Double
        peakMB = memory["peak_mb"] as? Double
    }
}

@MainActor
final class BenchmarkViewModel: ObservableObject {
    @Published private(set) var rows: [BenchmarkRow] = []
    @Published private(set) var skipped: [String] = []
    @Published private(set) var status = "Times every preserver in the app on the CPU, GPU and Neural Engine."
    @Published private(set) var resultURL: URL?
    @Published private(set) var isRunning = false

    func run() {
        guard !isRunning else { return }
        let documents = FileManager.default.urls(for: .documentDirectory, in: .userDomainMask)[0]
        let budget = BenchmarkBudget()
        let models = BenchmarkModel.discover(documents: documents)
        let machine = DeviceInfo.machine(budget: budget)
        isRunning = true
        rows = []
        skipped = []
        resultURL = nil
        UIApplication.shared.isIdleTimerDisabled = true  // a locked screen would suspend the app mid-run
        Task.detached(priority: .userInitiated) { [weak self] in
            let benchmark = PreserverBenchmark(outputDirectory: documents, budget: budget)
            let outcome: Result<BenchmarkOutcome, Error>
            do {
                outcome = .success(try await benchmark.run(models: models, machine: machine) { message in
                    Task { @MainActor in self?.status = message }
                })
            } catch {
                outcome = .failure(error)
            }
            await self?.finish(outcome)
        }
    }

    private func finish(_ outcome: Result<BenchmarkOutcome, Error>) {
        isRunning = false
        UIApplication.shared.isIdleTimerDisabled = false
        switch outcome {
        case let .success(result):
            rows = result.records.map(BenchmarkRow.init(record:))
            skipped = result.skipped
            resultURL = result.fileURL
            status = "Wrote Documents/\(result.fileURL.lastPathComponent)"
        case let .failure(error):
            status = "Failed: \(error.localizedDescription)"
        }
    }
}

struct BenchmarkView: View {
    @StateObject private var model = BenchmarkViewModel()

    var body: some View {
        NavigationStack {
            List {
                Section {
                    Text(model.status).font(.footnote)
                    if model.isRunning { ProgressView() }
                }
                Section("Batch 1, milliseconds; peak footprint in MB") {
                    Grid(alignment: .leading, horizontalSpacing: 12, verticalSpacing: 6) {
                        GridRow {
                            Text("Model")
                            Text("Units")
                            Text("p50")
                            Text("p90")
                            Text("Init")
                            Text("Peak")
                        }
                        .font(.caption.bold())
                        ForEach(model.rows) { row in
                            GridRow {
                                Text(row.model).lineLimit(1)
                                Text(row.accelerator)
                                Text(Self.format(row.p50Ms, digits: 3))
                                Text(Self.format(row.p90Ms, digits: 3))
                                Text(Self.format(row.initMs, digits: 1))
                                Text(Self.format(row.peakMB, digits: 1))
                            }
                            .font(.caption.monospacedDigit())
                        }
                    }
                }
                if !model.skipped.isEmpty {
                    Section("Skipped") {
                        ForEach(model.skipped, id: \.self) { Text($0).font(.caption) }
                    }
                }
            }
            .navigationTitle("Preserver benchmark")
            .toolbar {
                ToolbarItemGroup(placement: .primaryAction) {
                    if let url = model.resultURL { ShareLink(item: url) }
                    Button("Run") { model.run() }.disabled(model.isRunning)
                }
            }
        }
    }

    private static func format(_ value: Double?, digits: Int) -> String {
        guard let value else { return "-" }
        return String(format: "%.\(digits)f", value)
    }
}
