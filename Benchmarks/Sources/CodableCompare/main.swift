// Times PickleDecoder against JSONDecoder on the same records, for codable_compare.py.
//
//   CodableCompare <records.pkl> <records.json> <rounds>
//
// Prints one line per round: `pickle <ms> json <ms>` (each: decoding every record into [Record]).
import Foundation
import Pickle

struct Address: Codable, Equatable {
    let street: String
    let city: String
    let zip: Int
}

struct Record: Codable, Equatable {
    let id: Int
    let name: String
    let email: String
    let score: Double
    let nickname: String?
    let tags: [String]
    let address: Address
    let created: Date
}

func milliseconds(_ body: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
}

let arguments = CommandLine.arguments
guard arguments.count == 4, let rounds = Int(arguments[3]) else {
    FileHandle.standardError.write(Data("usage: CodableCompare <records.pkl> <records.json> <rounds>\n".utf8))
    exit(2)
}
let pickle = [UInt8](try Data(contentsOf: URL(fileURLWithPath: arguments[1])))
let json = try Data(contentsOf: URL(fileURLWithPath: arguments[2]))
let pickleDecoder = PickleDecoder()
let jsonDecoder = JSONDecoder()
jsonDecoder.dateDecodingStrategy = .iso8601

// Both decoders must agree before either is timed.
let fromPickle = try pickleDecoder.decode([Record].self, from: pickle)
let fromJSON = try jsonDecoder.decode([Record].self, from: json)
guard fromPickle == fromJSON else {
    FileHandle.standardError.write(Data("the pickle and the JSON decode to different records\n".utf8))
    exit(1)
}

for _ in 0 ..< rounds {
    var count = 0
    let pickleTime = try milliseconds { count += try pickleDecoder.decode([Record].self, from: pickle).count }
    let jsonTime = try milliseconds { count += try jsonDecoder.decode([Record].self, from: json).count }
    precondition(count == 2 * fromPickle.count)
    print("pickle \(pickleTime) json \(jsonTime)")
}
