/**
 * seisdec: unsupervised clustering of seismic signals by Deep Embedded
 * Clustering (DEC) of STFT spectrograms with a fully convolutional
 * autoencoder, computed by hand-written WGSL kernels on WebGPU.
 *
 * The same steps as the command line, as typed functions:
 * - waveforms → spectrograms: {@linkcode writeSynth}, {@linkcode runExtract},
 *   {@linkcode openDataset}, {@linkcode writeDataset} (or {@linkcode MemoryDataset});
 * - {@linkcode pretrain} the autoencoder (MSE, Adam, checkpoints, resume);
 * - {@linkcode initCentroids} by k-means or GMM on the latent codes;
 * - {@linkcode finetune} by DEC (KL(p‖q)) or IDEC;
 * - {@linkcode applyModel} for codes, soft assignments and labels; {@linkcode evaluateClustering}.
 *
 * @example Cluster an in-memory dataset (two kinds of 16×12 images) end to end on the CPU backend
 * ```ts
 * import {
 *   applyModel, evaluateClustering, finetune, FINETUNE_DEFAULTS, INIT_DEFAULTS,
 *   initCentroids, MemoryDataset, pretrain, PRETRAIN_DEFAULTS,
 * } from "./mod.ts";
 * const n = 24, per = 16 * 12, data = new Float32Array(n * per), labels: string[] = [];
 * for (let i = 0; i < n; i++) {
 *   const low = i % 2 === 0;
 *   labels.push(low ? "low" : "high");
 *   for (let f = 0; f < 16; f++) for (let t = 0; t < 12; t++) {
 *     data[i * per + f * 12 + t] = Math.exp(-((f - (low ? 3 : 12)) ** 2) / 4) * (1 + 0.1 * Math.sin(i + t));
 *   }
 * }
 * const ds = new MemoryDataset(data, [1, 16, 12], labels.map((label, i) => ({ id: `s${i}`, label })));
 * const dir = await Deno.makeTempDir();
 * await pretrain(ds, dir, { ...PRETRAIN_DEFAULTS, epochs: 3, batchSize: 8, latentDim: 4 }, { device: "cpu" });
 * await initCentroids(dir, ds, { ...INIT_DEFAULTS, k: 2, nInit: 5 }, "cpu");
 * await finetune(dir, ds, { ...FINETUNE_DEFAULTS, maxIter: 6, updateInterval: 3, batchSize: 8 }, "cpu");
 * const a = await applyModel(dir, ds, "cpu");
 * const report = evaluateClustering({ pred: a.labels!, k: 2, truth: labels });
 * console.log(report.acc, report.sizes);
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @module
 */

// Pipeline
export { type DatasetLike, MemoryDataset, type Normalize } from "./lib/cluster/data.ts";
export {
  encodeAll,
  type EpochRecord,
  loadAutoencoder,
  type ModelInfo,
  pretrain,
  PRETRAIN_DEFAULTS,
  type PretrainConfig,
  type PretrainHooks,
  pretrainStepsWarning,
  readModelInfo,
} from "./lib/cluster/pretrain.ts";
export {
  argmaxRows,
  assignAll,
  encodeForInit,
  finetune,
  FINETUNE_DEFAULTS,
  type FinetuneConfig,
  type FinetuneHooks,
  type FinetuneOptions,
  type FinetuneRecord,
  GMM_N_INIT,
  INIT_DEFAULTS,
  initCentroids,
  type InitConfig,
  type InitResult,
  KMEANS_N_INIT,
  nInitOf,
  updateIntervalOf,
} from "./lib/cluster/dec.ts";
export { LOCK_FILE, lockModelDir } from "./lib/io/checkpoint.ts";
export {
  applyModel,
  type Assignment,
  rawKmeans,
  type RawKmeansSettings,
} from "./lib/cluster/assign.ts";
export {
  type ConfigFile,
  fileKs,
  type InitFileSection,
  readConfigFile,
  resolveFinetune,
  resolveInit,
  resolvePretrain,
} from "./lib/cluster/config.ts";

// Clustering and metrics
export {
  distinctPoints,
  kmeans,
  kmeansAsync,
  type KMeansOptions,
  type KMeansResult,
} from "./lib/cluster/kmeans.ts";
export {
  gmm,
  gmmAsync,
  type GmmOptions,
  type GmmResult,
  relativeRegCovar,
} from "./lib/cluster/gmm.ts";
export { pca2 } from "./lib/cluster/pca.ts";
export { type Embedding2, umap2, type UmapOptions } from "./lib/cluster/embed.ts";
export { nearestNeighbours, type Neighbour } from "./lib/cluster/similar.ts";
export {
  type MemberWaveform,
  type MemberWaveforms,
  memberWaveforms,
  memberWaveformsPng,
} from "./lib/cluster/member_waveforms.ts";
export {
  clockName,
  clusterMeansPng,
  clusterMembers,
  type ClusterProfile,
  clusterProfiles,
  clusterSpectraPng,
  type HourClock,
  hourOfDayPng,
  memberCaption,
  type MemberSample,
  type ProfileDataset,
  type ProfileOptions,
  profilesCsv,
  referenceName,
  stationMapPng,
  timelinePng,
} from "./lib/cluster/summary.ts";
export { type FigureFormat, writeFigure } from "./lib/plot/mod.ts";
export {
  bestK,
  gmmParameters,
  type KCriterion,
  type KScore,
  type KSelection,
  kSelectionCsv,
  parseKList,
  removeKSelection,
  selectK,
  type SelectKOptions,
  writeKSelection,
} from "./lib/cluster/select_k.ts";
export * from "./lib/metrics/mod.ts";

// Waveforms → spectrograms
export {
  type Dataset,
  type DatasetMeta,
  datasetSettings,
  DatasetWriter,
  type DatasetWriterOptions,
  defaultNormalize,
  openDataset,
  partialPath,
  type SampleInfo,
  writeDataset,
} from "./lib/io/dataset.ts";
export {
  type ChannelId,
  type ChannelResponses,
  type ClippedChannel,
  type ClippedSample,
  DETECTIONS_DIR,
  detectionsPath,
  type ExtractOptions,
  type ExtractSummary,
  type Failure,
  type InspectedSample,
  type InspectFailure,
  inspectSample,
  inspectSamples,
  InventoryCache,
  type JoinedChannel,
  type JoinedSample,
  type OrientationSource,
  type ResponseSource,
  type Rotation,
  runExtract,
} from "./lib/io/extract.ts";
export type { FailureReason } from "./lib/io/sample_error.ts";
export {
  type BandpassConfig,
  type EsecInput,
  type ExtractConfig,
  type ExtractInput,
  type ManifestInput,
  type NpzInput,
  parseExtractConfig,
  type PreprocessConfig,
  readExtractConfig,
  type ResponseConfig,
  type SdsInput,
  type SpectrogramConfig,
} from "./lib/io/extract_config.ts";
export { type SynthOptions, writeSynth } from "./lib/io/synth.ts";
export {
  type SynthArrival,
  type SynthContinuousEvent,
  type SynthContinuousOptions,
  type SynthContinuousSummary,
  writeSynthContinuous,
} from "./lib/io/synth_continuous.ts";
export { SYNTH_CLASSES, type SynthClass } from "./lib/signal/synth.ts";
export {
  esecTasks,
  findSdsFiles,
  npzTasks,
  readManifest,
  type SampleTask,
  type SdsLookup,
  sdsPaths,
  sdsTasks,
} from "./lib/io/manifest.ts";
export {
  type Episode,
  episodesCsv,
  windowEpisodes,
  type WindowSample,
} from "./lib/cluster/episodes.ts";
export {
  associateTriggers,
  eventsByIds,
  eventsCsv,
  eventsQuakeMl,
  eventsToQuakeMl,
  type EventVote,
  eventVotes,
  type NetworkEvent,
  type TriggerOnset,
  type TriggerPick,
} from "./lib/cluster/events.ts";
export {
  intervalLabeller,
  type LabelInterval,
  readLabelIntervals,
  type SdsWindows,
  sdsWindowTasks,
  windowTimes,
} from "./lib/io/sds_windows.ts";
export {
  checkTrigger,
  coincident,
  type Detection,
  type DetectionCache,
  type DetectionProblem,
  type DetectionResult,
  detectSdsTriggers,
  type SdsTrigger,
  TRIGGER_DEFAULTS,
  triggerDefaults,
} from "./lib/io/sds_triggers.ts";
export {
  type Join,
  readMiniseed,
  readMiniseedFile,
  type ReadMiniseedOptions,
  type Segment,
  type Trace,
} from "./lib/io/mseed.ts";
export {
  type ChannelEpoch,
  findOrientation,
  findResponse,
  readStationXml,
  readStationXmlFile,
  type ReadStationXmlOptions,
} from "./lib/io/stationxml.ts";
export {
  encodeSac,
  parseSacPoleZero,
  readSac,
  readSacFile,
  sacDip,
  type SacFile,
  type SacMarker,
  type SacPoleZeroComments,
  sacPoleZeroComments,
} from "./lib/io/sac.ts";
export {
  type BadPick,
  type EventOrigin,
  type LeftOutPick,
  type LeftOutWhy,
  type PhasePick,
  type QuakeMlContents,
  readQuakeMl,
  readQuakeMlFile,
} from "./lib/io/quakeml.ts";
export {
  encodeNpy,
  type NpyArray,
  type NpyData,
  type NumericArray,
  readNpy,
  readNpyFile,
  readNpz,
  writeNpyFile,
} from "./lib/io/npy.ts";
export {
  decodeSafetensors,
  encodeSafetensors,
  type SafetensorsData,
  type SafetensorsDtype,
  type SafetensorsTensor,
} from "./lib/io/safetensors.ts";
export {
  kaiser,
  type Spectrogram,
  spectrogram,
  type SpectrogramOptions,
} from "./lib/signal/stft.ts";
export { bandpass, butterBandpass, type Sos } from "./lib/signal/filter.ts";
export {
  aicOnset,
  classicStaLta,
  recursiveStaLta,
  triggerOnsets,
  type TriggerSpan,
} from "./lib/signal/trigger.ts";
export { CLIP_MIN_LEVELS, CLIP_RUN, type Clipping, clipping } from "./lib/signal/clip.ts";
export { resample, type ResampleOptions } from "./lib/signal/resample.ts";
export {
  directionZne,
  MIN_ORIENTATION_DET,
  type Orientation,
  rotateToZne,
  zneMatrix,
} from "./lib/signal/rotate.ts";
export {
  type DigitalStage,
  type GroundOutput,
  type InstrumentResponse,
  type PolesZerosStage,
  removeResponse,
  type RemoveResponseOptions,
} from "./lib/signal/response.ts";
export { type PreprocessOptions, preprocessTrace } from "./lib/signal/preprocess.ts";

// Compute core
export {
  type AdamHyper,
  type Backend,
  type ConvOpts,
  type Device,
  initBackend,
  type Node,
  noGrad,
  ops,
  type SgdHyper,
  type Storage,
  Tensor,
  tidy,
} from "./lib/tensor/mod.ts";
export type { InputAct } from "./lib/tensor/backend.ts";
export type { BackwardFold, DeviceLife } from "./lib/tensor/tensor.ts";
export {
  type AutoencoderConfig,
  ConvAutoencoder,
  type DecoderPlan,
  decoderPlan,
} from "./lib/nn/autoencoder.ts";
export {
  Conv2d,
  ConvTranspose2d,
  Crop2d,
  Flatten,
  type Fusable,
  LeakyReLU,
  Linear,
  Module,
  Reshape,
  Sequential,
} from "./lib/nn/layers.ts";
export { ParameterSet, type ParamSpec } from "./lib/nn/params.ts";
export {
  Adam,
  type AdamConfig,
  type OptimizerState,
  Sgd,
  type SgdConfig,
} from "./lib/optim/optimizers.ts";
export {
  type AdapterSummary,
  adapterSummary,
  DeviceLostError,
  getDevice,
  GpuOutOfMemoryError,
} from "./lib/gpu/device.ts";
export {
  type BufRef,
  type Compiled,
  gpu,
  type GpuRuntime,
  type KernelDef,
  type Param,
  type ProfiledDispatch,
  type RuntimeStats,
} from "./lib/gpu/runtime.ts";
export type { BufferPool, PoolStats } from "./lib/gpu/pool.ts";
export { defaultTuning, type Tuning, tuningValue, type ValuedField } from "./lib/gpu/kernels.ts";
export {
  candidateValues,
  costOf,
  type SearchOptions,
  type SearchResult,
  searchTuning,
  type Timing,
  type Trial,
  TUNE_FIELDS,
  type TuneField,
  type Value as TuneValue,
} from "./lib/gpu/autotune.ts";
export {
  parseTuning,
  readStoredTuning,
  removeStoredTuning,
  type StoredTrial,
  type StoredTuning,
  TUNING_FORMAT,
  tuningDir,
  writeStoredTuning,
} from "./lib/gpu/tuning_store.ts";
export {
  bindingLimit,
  deviceLost,
  gpuTuning,
  gpuTuningSource,
  releaseCachedMemory,
  retuneGpu,
  softwareOf,
  stepsInFlight,
  type TuningSource,
} from "./lib/tensor/backends.ts";
export { SEISDEC_VERSION, type Software, softwareText } from "./lib/util/software.ts";
export {
  type InferPoint,
  measureTuning,
  type TrainPoint,
  type TuningPoint,
  type TuningWorkload,
} from "./lib/bench/seisdec_timing.ts";
export { byKernel, type KernelShare, profileRun, profileTable } from "./lib/bench/profile.ts";
export { type BackendName, setDefaultBackend } from "./lib/backend.ts";
export { Rng } from "./lib/util/rng.ts";
export { UserError } from "./lib/util/errors.ts";
export { InFlight, pipelined } from "./lib/util/pipeline.ts";
