//! The host path's gradients equal burn autodiff's on a small random BERT.
use super::*;
use crate::bert::BertConfig;
use crate::rng::SplitMix64;

fn random_model(device: &Device) -> Bert {
    let config = BertConfig {
        hidden_size: 8,
        num_attention_heads: 2,
        intermediate_size: 12,
        num_hidden_layers: 3,
        ..BertConfig::tiny(20)
    };
    Bert::init(&config, device)
}

#[test]
fn host_gradients_equal_burn_autodiff() {
    let device = Device::flex().autodiff();
    let model = random_model(&device);
    let (heads, eps) = (2, 1e-12);
    let texts: Vec<(Vec<u32>, Vec<u32>)> = vec![
        (vec![2, 7, 9, 3], vec![0, 0, 0, 0]),
        (vec![2, 5, 3], vec![0, 0, 1]),
        (vec![2, 11, 12, 13, 14, 15, 3], vec![0; 7]),
    ];
    let mut rng = SplitMix64::new(7);
    let h = 8;
    let upstream: Vec<f32> = (0..texts.len() * h).map(|_| rng.next_f32() * 2.0 - 1.0).collect();
    for (pooling, normalize, trained) in [
        (Pooling::Mean, false, 1..3),
        (Pooling::Cls, true, 2..3),
        (Pooling::Mean, true, 0..3),
    ] {
        // burn: padded batch, autodiff.
        let longest = texts.iter().map(|t| t.0.len()).max().unwrap();
        let pad = |v: &Vec<u32>| -> Vec<i64> { (0..longest).map(|i| v.get(i).map_or(0, |&x| i64::from(x))).collect() };
        let ids: Vec<i64> = texts.iter().flat_map(|t| pad(&t.0)).collect();
        let types: Vec<i64> = texts.iter().flat_map(|t| pad(&t.1)).collect();
        let mask: Vec<f32> = texts
            .iter()
            .flat_map(|t| (0..longest).map(move |i| f32::from(u8::from(i < t.0.len()))))
            .collect();
        let shape = [texts.len(), longest];
        let tokens = Tokens {
            ids: Tensor::from_data(TensorData::new(ids, shape), &device),
            types: Tensor::from_data(TensorData::new(types, shape), &device),
            mask: Tensor::from_data(TensorData::new(mask, shape), &device),
        };
        let lower = model
            .encode(model.embed(&tokens), &tokens.mask, heads, 0..trained.start)
            .detach();
        let hidden = model.encode(lower, &tokens.mask, heads, trained.clone());
        let pooled = pool(pooling, normalize, hidden, &tokens.mask);
        let g = Tensor::<2>::from_data(TensorData::new(upstream.clone(), [texts.len(), h]), &device);
        let want = GradientsParams::from_grads((pooled.clone() * g).sum().backward(), &model);
        // host: packed, by hand.
        let host = HostBert::of(&model, heads, eps);
        let mut tuner = HostTuner::new(&host, &texts, trained.start);
        let vectors = tuner.forward(pooling, normalize);
        let burn_vectors = pooled.into_data().try_to_vec::<f32>().unwrap();
        for (a, b) in vectors.concat().iter().zip(&burn_vectors) {
            assert!((a - b).abs() < 1e-5, "vectors {a} vs {b}");
        }
        let grads = tuner.backward(&upstream, (pooling, normalize));
        let mut got = GradientsParams::new();
        for (l, g) in trained.clone().zip(&grads) {
            register_layer(&model, l, g, &Device::flex(), &mut got);
        }
        let mut checked = 0;
        for l in trained.clone() {
            let layer = &model.encoder.layer[l];
            let a = &layer.attention.self_attn;
            let twos = [
                &a.query,
                &a.key,
                &a.value,
                &layer.attention.output.dense,
                &layer.intermediate.dense,
                &layer.output.dense,
            ];
            for linear in twos {
                compare(
                    want.get::<2>(linear.weight.id),
                    got.get::<2>(linear.weight.id),
                    "weight",
                );
                let b = linear.bias.as_ref().unwrap().id;
                compare(want.get::<1>(b), got.get::<1>(b), "bias");
                checked += 2;
            }
            for norm in [&layer.attention.output.layer_norm, &layer.output.layer_norm] {
                compare(want.get::<1>(norm.gamma.id), got.get::<1>(norm.gamma.id), "gamma");
                let b = norm.beta.as_ref().unwrap().id;
                compare(want.get::<1>(b), got.get::<1>(b), "beta");
                checked += 2;
            }
        }
        assert_eq!(checked, 16 * trained.len());
    }
}

/// Every value within `1e-4 ×` the largest of burn's (and `1e-6`).
fn compare<const D: usize>(want: Option<Tensor<D>>, got: Option<Tensor<D>>, what: &str) {
    let want = want.expect("burn's gradient").into_data().try_to_vec::<f32>().unwrap();
    let got = got
        .expect("the host's gradient")
        .into_data()
        .try_to_vec::<f32>()
        .unwrap();
    assert_eq!(want.len(), got.len(), "{what}");
    let scale = want.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    assert!(scale > 0.0, "{what}: burn's gradient is zero");
    for (w, g) in want.iter().zip(&got) {
        assert!(
            (w - g).abs() <= 1e-4 * scale + 1e-6,
            "{what}: host {g} vs burn {w} (scale {scale})"
        );
    }
}

/// Both engines, from the same encoder directory and the same upstream
/// gradients, give the same vectors before and after two Adam steps: the
/// host engine on the CPU, burn's on every test device (`flex`, and
/// LibTorch's CPU in a `tch` build).
#[test]
fn host_and_burn_tuners_take_the_same_steps() {
    for (name, device) in crate::device::burn_test_devices() {
        tuners_take_the_same_steps_on(name, &device);
    }
}

fn tuners_take_the_same_steps_on(name: &str, burn_device: &Device) {
    let dir = tempfile::tempdir().unwrap();
    let words = ["red", "heart", "bag", "jumbo", "light", "lantern"];
    crate::bert::random::write(dir.path(), &BertConfig::tiny(0), &words, 5).unwrap();
    let texts: Vec<String> = ["red heart", "jumbo bag red light heart", "lantern", ""]
        .iter()
        .map(|t| t.to_string())
        .collect();
    let cpu = Device::flex().autodiff();
    let make = |host: bool| {
        let device = if host { &cpu } else { burn_device };
        EncoderTuner::with_engine(dir.path(), &texts, (Pooling::Mean, true), 1, 1e-2, device, host).unwrap()
    };
    let (mut host, mut burn) = (make(true), make(false));
    let close = |a: &EncoderTuner, b: &EncoderTuner, when: &str| {
        for (x, y) in a.vectors().concat().iter().zip(b.vectors().concat()) {
            assert!((x - y).abs() < 1e-5, "{name}, {when}: host {x} vs burn {y}");
        }
    };
    close(&host, &burn, "at the start");
    let w = host.width() + 1;
    let mut rng = SplitMix64::new(3);
    for step in 0..2 {
        // Gradients for every text but the second (and none for the no-text row).
        let grads: Vec<f32> = (0..(texts.len() + 1) * w)
            .map(|i| match (i / w == 1 || i / w == texts.len(), i % w == w - 1) {
                (false, false) => rng.next_f32() - 0.5,
                _ => 0.0,
            })
            .collect();
        let (a, b) = (host.step(&grads).unwrap(), burn.step(&grads).unwrap());
        assert_eq!(a.len(), b.len());
        close(&host, &burn, &format!("after step {step}"));
    }
    assert_ne!(host.vectors(), make(true).vectors(), "the steps changed the vectors");
}
